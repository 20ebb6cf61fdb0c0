import { ChangeDetectionStrategy, Component, DestroyRef, ElementRef, computed, inject, input, model, signal, viewChild } from '@angular/core';
import type { GroupMemberCount, GroupSuggestion, RecipientSuggestion } from '@mailpage/contract';
import { Subject, catchError, combineLatest, debounceTime, distinctUntilChanged, from, map, of, switchMap } from 'rxjs';
import { ApiClient, asApiError } from '../core/api';
import { uniqueId } from '../shared/format';
import {
  commaEndsAddress,
  fromSuggestion,
  groupMembersText,
  parseRecipient,
  recipientLabel,
  sameRecipient,
  splitAddresses,
  suggestionKey,
  type Recipient,
  type Suggestion,
} from './recipients';

export const SUGGEST_DEBOUNCE_MS = 300;

/**
 * One recipient field (To, Cc or Bcc). Typing a name asks Confluence for matching users and groups; typing an address
 * checks it as typed with the same parser the service uses. Enter or comma adds a chip, Backspace in the empty box
 * removes the last one, and each chip has a remove button. A group chip shows its member count once Confluence gives it.
 */
@Component({
  selector: 'mp-recipient-picker',
  changeDetection: ChangeDetectionStrategy.OnPush,
  styles: `
    .box {
      position: relative;
      display: flex;
      flex-wrap: wrap;
      gap: var(--ds-space-050, 4px);
      align-items: center;
      padding: var(--ds-space-050, 4px);
      border: 2px solid var(--ds-border-input, #8590a2);
      border-radius: var(--ds-border-radius, 3px);
      background: var(--ds-background-input, #ffffff);
      cursor: text;
    }
    .box:focus-within {
      border-color: var(--ds-border-focused, #388bff);
    }
    .box.invalid {
      border-color: var(--ds-border-danger, #e2483d);
    }
    .box input {
      flex: 1 1 180px;
      min-width: 120px;
      border: 0;
      min-height: 28px;
      padding: 0 var(--ds-space-050, 4px);
      background: transparent;
    }
    .box input:hover:not(:focus) {
      background: transparent;
    }
    .chips {
      display: contents;
    }
    .listbox {
      position: absolute;
      z-index: 10;
      top: calc(100% + 4px);
      left: -2px;
      right: -2px;
      margin: 0;
      padding: var(--ds-space-050, 4px) 0;
      list-style: none;
      max-height: 240px;
      overflow-y: auto;
      background: var(--ds-surface-overlay, #ffffff);
      box-shadow: var(--ds-shadow-overlay, 0 8px 12px #091e4226, 0 0 1px #091e424f);
      border-radius: var(--ds-border-radius, 3px);
    }
    .option {
      padding: var(--ds-space-075, 6px) var(--ds-space-150, 12px);
      cursor: pointer;
      display: flex;
      flex-direction: column;
    }
    .option[aria-selected='true'],
    .option:hover {
      background: var(--ds-background-selected, #e9f2ff);
    }
    .option-sub {
      font-size: 12px;
      line-height: 16px;
      color: var(--ds-text-subtle, #44546f);
    }
  `,
  template: `
    <div class="field">
      <label [id]="id + '-label'" [for]="id">{{ label() }}</label>
      <!-- A mouse shortcut to the input inside, which keyboard users reach directly. -->
      <!-- eslint-disable-next-line @angular-eslint/template/click-events-have-key-events, @angular-eslint/template/interactive-supports-focus -->
      <div class="box" [class.invalid]="invalid()" (click)="focus()">
        <ul class="chips" [attr.aria-label]="label() + ' recipients'">
          @for (r of recipients(); track $index) {
            <li class="chip" [class.chip-group]="r.kind === 'group'" [attr.data-recipient]="r.kind === 'user' ? r.accountId : r.kind === 'group' ? 'group:' + r.name : r.address">
              <span class="chip-text">
                @if (r.kind === 'user') {
                  {{ r.displayName }} <span class="chip-sub">{{ r.email ?? 'email hidden' }}</span>
                } @else if (r.kind === 'group') {
                  {{ r.name }} <span class="chip-sub" data-member-count>{{ membersText(r.count) }}</span>
                } @else {
                  {{ r.name ? r.name + ' <' + r.address + '>' : r.address }}
                }
              </span>
              <button
                type="button"
                class="chip-remove"
                [attr.aria-label]="'Remove ' + labelOf(r) + ' from ' + label()"
                (click)="remove($index); $event.stopPropagation()"
                (keydown.delete)="remove($index)"
                (keydown.backspace)="remove($index); $event.preventDefault()"
              >
                ✕
              </button>
            </li>
          }
        </ul>
        <input
          #box
          type="text"
          role="combobox"
          autocomplete="off"
          spellcheck="false"
          aria-autocomplete="list"
          [id]="id"
          [placeholder]="recipients().length ? '' : placeholder()"
          [value]="text()"
          [attr.aria-expanded]="open()"
          [attr.aria-controls]="id + '-listbox'"
          [attr.aria-activedescendant]="activeId()"
          [attr.aria-invalid]="invalid() || null"
          [attr.aria-describedby]="describedBy()"
          (input)="onInput(box.value)"
          (keydown)="onKey($event)"
          (paste)="onPaste($event)"
          (blur)="onBlur()"
        />
        <ul class="listbox" role="listbox" [id]="id + '-listbox'" [attr.aria-labelledby]="id + '-label'" [hidden]="!open()">
          @for (s of suggestions(); track key(s); let i = $index) {
            <!-- The combobox pattern: the keys are handled on the input (aria-activedescendant), options take no focus. -->
            <!-- eslint-disable-next-line @angular-eslint/template/click-events-have-key-events, @angular-eslint/template/interactive-supports-focus -->
            <li
              class="option"
              role="option"
              [id]="id + '-option-' + i"
              [attr.aria-selected]="i === active()"
              (mousedown)="$event.preventDefault()"
              (click)="choose(s)"
            >
              @if (s.kind === 'group') {
                <span>{{ s.name }}<span class="visually-hidden">,&#32;</span></span>
                <span class="option-sub">Confluence group: everyone in it gets the mail</span>
              } @else {
                <span>{{ s.displayName }}<span class="visually-hidden">,&#32;</span></span>
                <span class="option-sub">{{ s.email ?? 'email hidden' }}</span>
              }
            </li>
          }
        </ul>
      </div>
      @if (problem(); as p) {
        <p [class]="committed() ? 'field-error' : 'field-warning'" [id]="id + '-problem'" [attr.role]="committed() ? 'alert' : null">
          "{{ text().trim() }}" {{ p }}
        </p>
      } @else if (hint()) {
        <p class="hint" [id]="id + '-hint'">{{ hint() }}</p>
      }
      @for (e of serverErrors(); track $index) {
        <p class="field-error" [id]="id + '-server-' + $index">{{ e }}</p>
      }
      @if (searchError(); as e) {
        <p class="field-warning">{{ e }}</p>
      }
      <p class="visually-hidden" aria-live="polite">{{ announcement() }}</p>
    </div>
  `,
})
export class RecipientPicker {
  readonly label = input.required<string>();
  readonly placeholder = input('Name or email address');
  readonly hint = input('');
  /** The service's sentences about this field (from `details.recipients`). */
  readonly serverErrors = input<string[]>([]);
  readonly recipients = model<Recipient[]>([]);

  readonly id = uniqueId('recipients');
  readonly text = signal('');
  /** Set when the person tried to add what they typed (Enter, comma, leaving the box): the reason becomes an error. */
  readonly committed = signal(false);
  readonly suggestions = signal<Suggestion[]>([]);
  readonly active = signal(-1);
  readonly searchError = signal<string | null>(null);
  readonly announcement = signal('');
  private readonly focused = signal(false);

  /** Why the typed text is not an address: shown as typed once it looks like one (has an @), and after a try to add it. */
  readonly problem = computed(() => {
    const t = this.text().trim();
    if (!t || (!t.includes('@') && !this.committed())) return null;
    const r = parseRecipient(t);
    return r.ok ? null : r.reason;
  });
  readonly invalid = computed(() => (this.committed() && !!this.problem()) || this.serverErrors().length > 0);
  readonly open = computed(() => this.focused() && this.suggestions().length > 0);
  readonly activeId = computed(() => (this.open() && this.active() >= 0 ? `${this.id}-option-${this.active()}` : null));
  readonly describedBy = computed(
    () =>
      [this.problem() ? `${this.id}-problem` : this.hint() ? `${this.id}-hint` : '', ...this.serverErrors().map((_, i) => `${this.id}-server-${i}`)]
        .filter(Boolean)
        .join(' ') || null,
  );

  private readonly api = inject(ApiClient);
  private readonly box = viewChild.required<ElementRef<HTMLInputElement>>('box');
  private readonly queries = new Subject<string>();

  constructor() {
    const sub = this.queries
      .pipe(
        debounceTime(SUGGEST_DEBOUNCE_MS),
        distinctUntilChanged(),
        switchMap((q) => {
          if (q.length < 2) return of([] as Suggestion[]);
          const users = from(this.api.get<RecipientSuggestion[]>('/api/recipients', { query: q })).pipe(
            map((list) => list.map((u): Suggestion => ({ kind: 'user', ...u }))),
            catchError((e: unknown) => {
              this.searchError.set(`Confluence users could not be searched: ${asApiError(e).message}`);
              return of([] as Suggestion[]);
            }),
          );
          // Groups are offered as well where the service can list them; without them the field still works.
          const groups = from(this.api.get<GroupSuggestion[]>('/api/groups', { query: q })).pipe(
            map((list) => list.map((g): Suggestion => ({ kind: 'group', ...g }))),
            catchError(() => of([] as Suggestion[])),
          );
          return combineLatest([users, groups]).pipe(map(([u, g]) => [...u, ...g]));
        }),
      )
      .subscribe((list) => {
        const fresh = list.filter((s) => !this.recipients().some((r) => sameRecipient(r, fromSuggestion(s))));
        this.suggestions.set(fresh);
        this.active.set(-1);
        if (list.some((s) => s.kind === 'user')) this.searchError.set(null);
        if (this.text().trim().length >= 2 && !this.text().includes('@')) {
          this.announcement.set(fresh.length ? `${fresh.length} ${fresh.length === 1 ? 'match' : 'matches'} found. Use the arrow keys to choose.` : 'No Confluence user or group matches. Type a full email address instead.');
        }
      });
    inject(DestroyRef).onDestroy(() => sub.unsubscribe());
  }

  key(s: Suggestion): string {
    return suggestionKey(s);
  }

  membersText(count: number | null): string {
    return groupMembersText(count);
  }

  labelOf(r: Recipient): string {
    return recipientLabel(r);
  }

  focus(): void {
    this.box().nativeElement.focus();
  }

  onInput(value: string): void {
    this.focused.set(true);
    this.text.set(value);
    this.committed.set(false);
    this.queries.next(value.trim());
  }

  onKey(e: KeyboardEvent): void {
    const n = this.suggestions().length;
    switch (e.key) {
      case 'ArrowDown':
        if (!n) return;
        e.preventDefault();
        this.focused.set(true);
        this.active.set((this.active() + 1) % n);
        return;
      case 'ArrowUp':
        if (!n) return;
        e.preventDefault();
        this.active.set(this.active() <= 0 ? n - 1 : this.active() - 1);
        return;
      case 'Escape':
        if (this.open()) {
          e.preventDefault();
          this.suggestions.set([]);
        }
        return;
      case 'Enter': {
        e.preventDefault();
        const chosen = this.open() ? this.suggestions()[this.active()] : undefined;
        if (chosen) this.choose(chosen);
        else if (this.text().trim()) this.commit(true);
        return;
      }
      case ',':
      case ';':
        if (this.text().trim() && commaEndsAddress(this.text())) {
          e.preventDefault();
          this.commit(false);
        }
        return;
      case 'Backspace':
        if (this.text() === '' && this.recipients().length) {
          e.preventDefault();
          this.remove(this.recipients().length - 1, false);
        }
        return;
    }
  }

  onPaste(e: ClipboardEvent): void {
    const pasted = e.clipboardData?.getData('text') ?? '';
    const parts = splitAddresses(pasted);
    if (parts.length < 2) return;
    e.preventDefault();
    const bad: string[] = [];
    for (const part of parts) {
      const r = parseRecipient(part);
      if (r.ok) this.add(r.recipient);
      else bad.push(part);
    }
    this.setText(bad.join(', '));
    this.committed.set(bad.length > 0);
  }

  onBlur(): void {
    this.focused.set(false);
    // Leaving the box keeps a complete address as a chip; anything else stays as typed, with its reason.
    if (this.text().trim()) this.commit(false);
  }

  choose(s: Suggestion): void {
    const r = fromSuggestion(s);
    this.add(r);
    if (r.kind === 'group') void this.countMembers(r.name);
    this.setText('');
    this.committed.set(false);
    this.suggestions.set([]);
    this.queries.next('');
    this.box().nativeElement.focus();
  }

  /** Adds what was typed as an address chip; when it is not one, keeps it and shows why. */
  commit(pickSuggestion: boolean): void {
    const t = this.text().trim();
    if (!t) return;
    const r = parseRecipient(t);
    if (r.ok) {
      this.add(r.recipient);
      this.setText('');
      this.committed.set(false);
      this.suggestions.set([]);
      this.queries.next('');
      return;
    }
    if (pickSuggestion && this.suggestions().length === 1 && !t.includes('@')) {
      this.choose(this.suggestions()[0]);
      return;
    }
    this.committed.set(true);
  }

  remove(i: number, refocus = true): void {
    const r = this.recipients()[i];
    if (!r) return;
    this.recipients.update((list) => list.filter((_, j) => j !== i));
    this.announcement.set(`Removed ${recipientLabel(r)} from ${this.label()}.`);
    if (refocus) this.box().nativeElement.focus();
  }

  private add(r: Recipient): void {
    if (this.recipients().some((x) => sameRecipient(x, r))) {
      this.announcement.set(`${recipientLabel(r)} is already in ${this.label()}.`);
      return;
    }
    this.recipients.update((list) => [...list, r]);
    this.announcement.set(`Added ${recipientLabel(r)} to ${this.label()}.`);
  }

  /** The group chip shows how many people the mail will reach before it is sent. */
  private async countMembers(name: string): Promise<void> {
    try {
      const { count } = await this.api.get<GroupMemberCount>(`/api/groups/${encodeURIComponent(name)}/members/count`);
      this.recipients.update((list) => list.map((r) => (r.kind === 'group' && r.name === name ? { ...r, count } : r)));
      this.announcement.set(`Group ${name} has ${count} ${count === 1 ? 'member' : 'members'}.`);
    } catch {
      // The count is a courtesy: the service expands the group when the mail is sent, and says what it could not.
    }
  }

  private setText(v: string): void {
    this.text.set(v);
    this.box().nativeElement.value = v;
  }
}
