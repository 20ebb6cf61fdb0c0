import { ChangeDetectionStrategy, Component, input } from '@angular/core';

/*
 * The end of a settings form, as two components on the form's own elements rather than one with a host element
 * around both, so that the button row stays a child of the form (`form > .actions`).
 */

/** The row with the submit button; `<div mpSaveActions>` inside the form. */
@Component({
  selector: 'div[mpSaveActions]',
  changeDetection: ChangeDetectionStrategy.OnPush,
  host: { class: 'actions' },
  template: `<button type="submit" class="btn btn-primary" [disabled]="busy()">{{ busy() ? 'Saving…' : label() }}</button>`,
})
export class SaveActions {
  readonly busy = input.required<boolean>();
  readonly label = input('Save');
}

/** What the last save said: the form's error or its notice, announced politely; `<div mpSaveOutcome>`. */
@Component({
  selector: 'div[mpSaveOutcome]',
  changeDetection: ChangeDetectionStrategy.OnPush,
  host: { 'aria-live': 'polite' },
  template: `
    @if (error(); as e) {
      <div class="banner banner-error" role="alert"><p>{{ e }}</p></div>
    }
    @if (notice(); as n) {
      <div class="banner banner-success" [attr.data-notice]="markNotice() ? '' : null"><p>{{ n }}</p></div>
    }
  `,
})
export class SaveOutcome {
  readonly error = input.required<string | null>();
  readonly notice = input.required<string | null>();
  /** Gives the notice `data-notice`, which the browser tests of some forms wait for. */
  readonly markNotice = input(false);
}
