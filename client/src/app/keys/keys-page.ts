import { ChangeDetectionStrategy, Component } from '@angular/core';
import { MyKeys } from './my-keys';

/** `#/keys`: the user's keys on a page of their own (also a tab of the send dialog). */
@Component({
  selector: 'mp-keys-page',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [MyKeys],
  template: `<div class="page"><mp-my-keys /></div>`,
})
export class KeysPage {}
