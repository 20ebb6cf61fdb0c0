import { ChangeDetectionStrategy, Component, ElementRef, input, model, viewChildren } from '@angular/core';

export interface Tab {
  id: string;
  label: string;
}

/**
 * WAI-ARIA tabs: one tab stop, arrow keys (and Home/End) move between tabs and select them. The panels are the
 * parent's: each is `role="tabpanel"` with id `{prefix}-panel-{id}`, labelled by `{prefix}-tab-{id}`.
 */
@Component({
  selector: 'mp-tabs',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <!-- The tabs pattern: the arrow keys are handled on the tablist, focus stays on its buttons. -->
    <!-- eslint-disable-next-line @angular-eslint/template/interactive-supports-focus -->
    <div class="tabs" role="tablist" [attr.aria-label]="label()" (keydown)="onKey($event)">
      @for (t of tabs(); track t.id) {
        <button
          #tab
          type="button"
          class="tab"
          role="tab"
          [id]="prefix() + '-tab-' + t.id"
          [attr.aria-selected]="t.id === selected()"
          [attr.aria-controls]="prefix() + '-panel-' + t.id"
          [tabIndex]="t.id === selected() ? 0 : -1"
          (click)="selected.set(t.id)"
        >
          {{ t.label }}
        </button>
      }
    </div>
  `,
})
export class Tabs {
  readonly tabs = input.required<Tab[]>();
  readonly label = input.required<string>();
  readonly prefix = input('tabs');
  readonly selected = model.required<string>();
  private readonly buttons = viewChildren<ElementRef<HTMLButtonElement>>('tab');

  onKey(e: KeyboardEvent): void {
    const tabs = this.tabs();
    const i = tabs.findIndex((t) => t.id === this.selected());
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    const n = (to + tabs.length) % tabs.length;
    this.selected.set(tabs[n].id);
    this.buttons()[n]?.nativeElement.focus();
  }
}
