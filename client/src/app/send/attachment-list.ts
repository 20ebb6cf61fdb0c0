import { ChangeDetectionStrategy, Component, computed, input, model, signal } from '@angular/core';
import type { PageAttachment } from '@mailpage/contract';
import { DEFAULT_MAIL_LIMIT, formatSize, uniqueId } from '../shared/format';

/**
 * The page's attachments as checkboxes with their sizes, and a running total against the mail size limit. In local
 * mode files from the computer can be added too (they travel as multipart, which Confluence's invokeRemote cannot).
 */
@Component({
  selector: 'mp-attachment-list',
  changeDetection: ChangeDetectionStrategy.OnPush,
  styles: `
    ul {
      list-style: none;
      margin: 0 0 var(--ds-space-100, 8px);
      padding: 0;
    }
    li {
      display: flex;
      align-items: center;
      gap: var(--ds-space-100, 8px);
      padding: var(--ds-space-050, 4px) 0;
    }
    li label {
      display: flex;
      gap: var(--ds-space-100, 8px);
      align-items: center;
      flex: 1;
      min-width: 0;
      cursor: pointer;
    }
    .name {
      overflow: hidden;
      text-overflow: ellipsis;
      white-space: nowrap;
    }
    .size {
      margin-left: auto;
      color: var(--ds-text-subtle, #44546f);
      font-variant-numeric: tabular-nums;
      white-space: nowrap;
    }
    .meter {
      height: 6px;
      border-radius: 3px;
      background: var(--ds-background-neutral, #091e420f);
      overflow: hidden;
      margin: var(--ds-space-050, 4px) 0;
    }
    .meter > span {
      display: block;
      height: 100%;
      background: var(--ds-background-brand-bold, #0c66e4);
    }
    .meter.over > span {
      background: var(--ds-background-danger-bold, #ca3521);
    }
  `,
  template: `
    <fieldset [attr.aria-describedby]="id + '-total'">
      <legend>Attachments</legend>
      @if (loadError(); as e) {
        <p class="field-error" role="alert">{{ e }}</p>
      } @else if (attachments() === null) {
        <p class="hint">Loading the page's attachments…</p>
      } @else if (!attachments()!.length) {
        <p class="hint">
          This page has no attachments.
          {{ canAddFiles() ? 'You can add files from your computer below.' : 'Attach files to the page in Confluence to send them with the mail.' }}
        </p>
      } @else {
        <ul>
          @for (a of attachments(); track a.id) {
            <li>
              <label>
                <input type="checkbox" [checked]="isSelected(a.id)" (change)="toggle(a.id, $any($event.target).checked)" [attr.data-attachment]="a.id" />
                <span class="name">{{ a.filename }}<span class="visually-hidden">,&#32;</span></span>
                <span class="size">{{ size(a.size) }}</span>
              </label>
            </li>
          }
        </ul>
      }

      @if (canAddFiles()) {
        @if (files().length) {
          <ul [attr.aria-label]="'Files from your computer'">
            @for (f of files(); track $index) {
              <li>
                <span class="name">{{ f.name }}<span class="visually-hidden">,&#32;</span></span>
                <span class="size">{{ size(f.size) }}</span>
                <button type="button" class="btn btn-subtle" [attr.aria-label]="'Remove ' + f.name" (click)="removeFile($index)">Remove</button>
              </li>
            }
          </ul>
        }
        <div class="field">
          <label [for]="id + '-files'">Add files from your computer</label>
          <input type="file" multiple [id]="id + '-files'" (change)="addFiles($any($event.target))" />
        </div>
      }

      <div class="meter" [class.over]="over()" aria-hidden="true"><span [style.width.%]="percent()"></span></div>
      <p class="hint" [id]="id + '-total'" aria-live="polite">{{ summary() }}</p>
      @if (over()) {
        <p class="field-error" role="alert">
          The selected files add up to {{ size(total()) }}, over the mail size limit of {{ limitText() }}. Leave some out.
        </p>
      }
      @if (serverError(); as e) {
        <p class="field-error" role="alert">{{ e }}</p>
      }
      <p class="visually-hidden" aria-live="polite">{{ announcement() }}</p>
    </fieldset>
  `,
})
export class AttachmentList {
  /** null while loading. */
  readonly attachments = input<PageAttachment[] | null>(null);
  readonly loadError = input<string | null>(null);
  readonly limit = input(DEFAULT_MAIL_LIMIT);
  readonly canAddFiles = input(false);
  readonly serverError = input<string | null>(null);
  readonly selected = model<string[]>([]);
  readonly files = model<File[]>([]);

  readonly id = uniqueId('attachments');
  readonly announcement = signal('');

  readonly total = computed(() => {
    const chosen = new Set(this.selected());
    const fromPage = (this.attachments() ?? []).filter((a) => chosen.has(a.id)).reduce((n, a) => n + a.size, 0);
    return fromPage + this.files().reduce((n, f) => n + f.size, 0);
  });
  readonly count = computed(() => this.selected().length + this.files().length);
  readonly over = computed(() => this.total() > this.limit());
  readonly percent = computed(() => Math.min(100, (this.total() / this.limit()) * 100));
  readonly limitText = computed(() => formatSize(this.limit(), 'down'));
  readonly summary = computed(() => {
    const n = this.count();
    if (!n) return `No files selected. The mail size limit is ${this.limitText()}.`;
    return `${n} ${n === 1 ? 'file' : 'files'} selected: ${formatSize(this.total())} of ${this.limitText()}.`;
  });

  size(bytes: number): string {
    return formatSize(bytes);
  }

  isSelected(id: string): boolean {
    return this.selected().includes(id);
  }

  toggle(id: string, on: boolean): void {
    this.selected.update((list) => (on ? (list.includes(id) ? list : [...list, id]) : list.filter((x) => x !== id)));
  }

  addFiles(el: HTMLInputElement): void {
    const picked = [...(el.files ?? [])];
    if (!picked.length) return;
    this.files.update((list) => [...list, ...picked]);
    this.announcement.set(`Added ${picked.map((f) => f.name).join(', ')}.`);
    el.value = '';
  }

  removeFile(i: number): void {
    const f = this.files()[i];
    this.files.update((list) => list.filter((_, j) => j !== i));
    if (f) this.announcement.set(`Removed ${f.name}.`);
  }
}
