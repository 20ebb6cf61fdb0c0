import { ChangeDetectionStrategy, Component } from '@angular/core';
import { RouterLink } from '@angular/router';

@Component({
  selector: 'mp-not-found',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [RouterLink],
  template: `
    <div class="page">
      <h1>Nothing here</h1>
      <div class="empty">
        <strong>This address does not lead to a Mailpage page.</strong>
        Go to <a routerLink="/send">Send a page</a> or <a routerLink="/admin">the settings</a>.
      </div>
    </div>
  `,
})
export class NotFound {}
