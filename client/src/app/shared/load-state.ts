import { NgTemplateOutlet } from '@angular/common';
import { ChangeDetectionStrategy, Component, TemplateRef, contentChild, input, output } from '@angular/core';
import type { ApiError } from '@mailpage/contract';

/**
 * Until its data is there, a settings form shows why it could not be loaded (with "Try again") or that it is
 * loading. The form itself comes as an `<ng-template>`, so that it is created only once there is data to fill it.
 */
@Component({
  selector: 'mp-load-state',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [NgTemplateOutlet],
  // No box of its own: the banner, the hint and the form lay out as if they were written where it stands.
  styles: `
    :host {
      display: contents;
    }
  `,
  template: `
    @if (error(); as e) {
      <div class="banner banner-error" role="alert">
        <strong>{{ failure() }}</strong>
        <p>{{ e.message }}</p>
        <button type="button" class="btn" (click)="retry.emit()">Try again</button>
      </div>
    } @else if (!loaded()) {
      @if (loading(); as text) {
        <p class="hint" aria-live="polite">{{ text }}</p>
      }
    } @else {
      <ng-container [ngTemplateOutlet]="content()" />
    }
  `,
})
export class LoadState {
  readonly error = input.required<ApiError | null>();
  readonly loaded = input.required<boolean>();
  /** The banner's heading, such as "The permissions could not be loaded." */
  readonly failure = input.required<string>();
  /** The hint while loading; none without it. */
  readonly loading = input<string | null>(null);
  readonly retry = output();
  protected readonly content = contentChild.required(TemplateRef);
}
