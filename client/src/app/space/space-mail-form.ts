import { ChangeDetectionStrategy, Component, computed, effect, inject, input, signal, untracked } from '@angular/core';
import { FormBuilder, ReactiveFormsModule } from '@angular/forms';
import type { ApiError, SpaceMailInput, SpaceMailView } from '@mailpage/contract';
import { ApiClient, asApiError } from '../core/api';
import { placeError } from '../shared/errors';

type Field = 'senderName' | 'replyTo' | 'subjectPrefix';

/** A space's own sender name, Reply-To and subject prefix, where the site admin allows spaces to have them. */
@Component({
  selector: 'mp-space-mail-form',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [ReactiveFormsModule],
  styles: `
    :host {
      display: block;
      margin-top: var(--ds-space-400, 32px);
    }
  `,
  template: `
    @if (loadError(); as e) {
      <div class="banner banner-error" role="alert">
        <strong>This space's sender settings could not be loaded.</strong>
        <p>{{ e.message }}</p>
        <button type="button" class="btn" (click)="load(spaceKey())">Try again</button>
      </div>
    } @else if (view(); as v) {
      <form [formGroup]="form" (ngSubmit)="save()" novalidate data-space-mail>
        <fieldset class="section" [disabled]="readOnly()">
          <legend>Sender for this space</legend>
          @if (!v.allowed) {
            <p class="hint" data-not-allowed>A site admin has not allowed spaces to change the sender. Mail from this space uses the site's sender name, Reply-To and subject prefix.</p>
          } @else if (!v.editable) {
            <p class="hint" data-not-editable>Only admins of this space can change these.</p>
          } @else {
            <p class="hint">Leave a field empty to use the site's value. The sender address stays the site's.</p>
          }
          <div class="field">
            <label for="sm-sender-name">Sender name</label>
            <input id="sm-sender-name" type="text" formControlName="senderName" maxlength="100" [attr.aria-invalid]="!!err().senderName || null" />
            @if (err().senderName; as e) {
              <p class="field-error" role="alert">{{ e }}</p>
            }
          </div>
          <div class="field">
            <label for="sm-reply-to">Reply-To address</label>
            <input id="sm-reply-to" type="email" autocomplete="off" formControlName="replyTo" [attr.aria-invalid]="!!err().replyTo || null" aria-describedby="sm-reply-to-hint" />
            <p class="hint" id="sm-reply-to-hint">Where replies go, for example the team's list. A sender who ticks "Replies go to me" overrides it.</p>
            @if (err().replyTo; as e) {
              <p class="field-error" role="alert">{{ e }}</p>
            }
          </div>
          <div class="field">
            <label for="sm-prefix">Subject prefix</label>
            <input id="sm-prefix" type="text" formControlName="subjectPrefix" maxlength="100" [attr.aria-invalid]="!!err().subjectPrefix || null" />
            @if (err().subjectPrefix; as e) {
              <p class="field-error" role="alert">{{ e }}</p>
            }
          </div>
        </fieldset>
        @if (!readOnly()) {
          <div class="actions">
            <button type="submit" class="btn btn-primary" [disabled]="busy()">{{ busy() ? 'Saving…' : 'Save sender' }}</button>
          </div>
        }
        <div aria-live="polite">
          @if (formError(); as e) {
            <div class="banner banner-error" role="alert"><p>{{ e }}</p></div>
          }
          @if (notice(); as n) {
            <div class="banner banner-success"><p>{{ n }}</p></div>
          }
        </div>
      </form>
    }
  `,
})
export class SpaceMailForm {
  readonly spaceKey = input.required<string>();

  private readonly api = inject(ApiClient);
  readonly form = inject(FormBuilder).nonNullable.group({ senderName: '', replyTo: '', subjectPrefix: '' });
  readonly view = signal<SpaceMailView | null>(null);
  readonly readOnly = computed(() => !this.view()?.editable);
  readonly loadError = signal<ApiError | null>(null);
  readonly busy = signal(false);
  readonly err = signal<Partial<Record<Field, string>>>({});
  readonly formError = signal<string | null>(null);
  readonly notice = signal<string | null>(null);

  constructor() {
    effect(() => {
      const key = this.spaceKey();
      untracked(() => void this.load(key));
    });
  }

  async load(key: string): Promise<void> {
    this.loadError.set(null);
    this.view.set(null);
    if (!key) return;
    try {
      this.apply(await this.api.get<SpaceMailView>(`/api/spaces/${encodeURIComponent(key)}/mail`));
    } catch (e) {
      this.loadError.set(asApiError(e));
    }
  }

  async save(): Promise<void> {
    if (this.busy() || this.readOnly()) return;
    this.busy.set(true);
    this.err.set({});
    this.formError.set(null);
    this.notice.set(null);
    try {
      const v = this.form.getRawValue();
      const body: SpaceMailInput = { senderName: v.senderName.trim() || null, replyTo: v.replyTo.trim() || null, subjectPrefix: v.subjectPrefix || null };
      this.apply(await this.api.put<SpaceMailView>(`/api/spaces/${encodeURIComponent(this.spaceKey())}/mail`, body));
      this.notice.set('Saved.');
    } catch (e) {
      const placed = placeError<Field>(asApiError(e), (p) => (p === 'senderName' || p === 'replyTo' || p === 'subjectPrefix' ? p : null));
      this.err.set(placed.fields);
      this.formError.set(placed.form);
    } finally {
      this.busy.set(false);
    }
  }

  private apply(v: SpaceMailView): void {
    this.view.set(v);
    this.form.setValue({ senderName: v.senderName ?? '', replyTo: v.replyTo ?? '', subjectPrefix: v.subjectPrefix ?? '' });
  }
}
