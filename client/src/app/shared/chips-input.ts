import { ChangeDetectionStrategy, Component, ElementRef, computed, input, model, signal, viewChild } from '@angular/core';
import { uniqueId } from './format';

/**
 * A list of short names (Confluence groups) typed one at a time: Enter or comma adds, Backspace in the empty box
 * removes the last, and every chip has its own remove button.
 */
@Component({
  selector: 'mp-chips-input',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <div class="field">
      <label [for]="id">{{ label() }}</label>
      @if (values().length) {
        <ul class="chips" [attr.aria-label]="label()">
          @for (v of values(); track v; let i = $index) {
            <li class="chip">
              <span class="chip-text">{{ v }}</span>
              @if (!disabled()) {
                <button type="button" class="chip-remove" [attr.aria-label]="'Remove ' + v" (click)="remove(i)">✕</button>
              }
            </li>
          }
        </ul>
      }
      <input
        #box
        type="text"
        [id]="id"
        [disabled]="disabled()"
        [placeholder]="placeholder()"
        [value]="text()"
        [attr.aria-invalid]="!!shownError() || null"
        [attr.aria-describedby]="describedBy()"
        (input)="text.set(box.value); note.set(null)"
        (keydown)="onKey($event)"
        (blur)="add()"
      />
      @if (hint()) {
        <p class="hint" [id]="id + '-hint'">{{ hint() }}</p>
      }
      @if (shownError(); as e) {
        <p class="field-error" role="alert" [id]="id + '-error'">{{ e }}</p>
      }
      <p class="visually-hidden" aria-live="polite">{{ announcement() }}</p>
    </div>
  `,
})
export class ChipsInput {
  readonly label = input.required<string>();
  readonly hint = input('');
  readonly placeholder = input('');
  readonly error = input<string | null>(null);
  readonly disabled = input(false);
  readonly maxLength = input(255);
  readonly values = model<string[]>([]);

  readonly id = uniqueId('chips');
  readonly text = signal('');
  readonly note = signal<string | null>(null);
  readonly announcement = signal('');
  readonly shownError = computed(() => this.note() ?? this.error());
  readonly describedBy = computed(() => [this.hint() ? `${this.id}-hint` : '', this.shownError() ? `${this.id}-error` : ''].filter(Boolean).join(' ') || null);
  private readonly box = viewChild.required<ElementRef<HTMLInputElement>>('box');

  onKey(e: KeyboardEvent): void {
    if (e.key === 'Enter' || e.key === ',') {
      e.preventDefault();
      this.add();
    } else if (e.key === 'Backspace' && this.text() === '' && this.values().length) {
      e.preventDefault();
      this.remove(this.values().length - 1, false);
    }
  }

  add(): void {
    const v = this.text().trim();
    if (!v) return;
    if (v.length > this.maxLength()) {
      this.note.set(`"${v.slice(0, 40)}…" is longer than ${this.maxLength()} characters.`);
      return;
    }
    if (this.values().some((x) => x.toLowerCase() === v.toLowerCase())) {
      this.note.set(`"${v}" is already in the list.`);
      return;
    }
    this.values.update((list) => [...list, v]);
    this.text.set('');
    this.box().nativeElement.value = '';
    this.note.set(null);
    this.announcement.set(`Added ${v}.`);
  }

  remove(i: number, refocus = true): void {
    const v = this.values()[i];
    this.values.update((list) => list.filter((_, j) => j !== i));
    this.announcement.set(`Removed ${v}.`);
    if (refocus) this.box().nativeElement.focus();
  }
}
