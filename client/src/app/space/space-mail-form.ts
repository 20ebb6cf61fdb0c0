import { ChangeDetectionStrategy, Component, computed, effect, inject, input, untracked } from '@angular/core';
import { FormBuilder, ReactiveFormsModule } from '@angular/forms';
import type { SpaceMailInput, SpaceMailView } from '@mailpage/contract';
import { ApiClient } from '../core/api';
import { LoadState } from '../shared/load-state';
import { SaveActions, SaveOutcome } from '../shared/save-bar';
import { SettingsResource } from '../shared/settings-resource';

type Field = 'senderName' | 'replyTo' | 'subjectPrefix';

/** A space's own sender name, Reply-To and subject prefix, where the site admin allows spaces to have them. */
@Component({
  selector: 'mp-space-mail-form',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [ReactiveFormsModule, LoadState, SaveActions, SaveOutcome],
  styles: `
    :host {
      display: block;
      margin-top: var(--ds-space-400, 32px);
    }
  `,
  template: `
    <mp-load-state failure="This space's sender settings could not be loaded." [error]="settings.loadError()" [loaded]="settings.loaded()" (retry)="load(spaceKey())">
      <ng-template>
        @let v = settings.view()!;
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
              <input id="sm-sender-name" type="text" formControlName="senderName" maxlength="100" [attr.aria-invalid]="!!settings.errors().senderName || null" />
              @if (settings.errors().senderName; as e) {
                <p class="field-error" role="alert">{{ e }}</p>
              }
            </div>
            <div class="field">
              <label for="sm-reply-to">Reply-To address</label>
              <input id="sm-reply-to" type="email" autocomplete="off" formControlName="replyTo" [attr.aria-invalid]="!!settings.errors().replyTo || null" aria-describedby="sm-reply-to-hint" />
              <p class="hint" id="sm-reply-to-hint">Where replies go, for example the team's list. A sender who ticks "Replies go to me" overrides it.</p>
              @if (settings.errors().replyTo; as e) {
                <p class="field-error" role="alert">{{ e }}</p>
              }
            </div>
            <div class="field">
              <label for="sm-prefix">Subject prefix</label>
              <input id="sm-prefix" type="text" formControlName="subjectPrefix" maxlength="100" [attr.aria-invalid]="!!settings.errors().subjectPrefix || null" />
              @if (settings.errors().subjectPrefix; as e) {
                <p class="field-error" role="alert">{{ e }}</p>
              }
            </div>
          </fieldset>
          @if (!readOnly()) {
            <div mpSaveActions [busy]="settings.busy()" label="Save sender"></div>
          }
          <div mpSaveOutcome [error]="settings.formError()" [notice]="settings.notice()"></div>
        </form>
      </ng-template>
    </mp-load-state>
  `,
})
export class SpaceMailForm {
  readonly spaceKey = input.required<string>();

  private readonly api = inject(ApiClient);
  readonly form = inject(FormBuilder).nonNullable.group({ senderName: '', replyTo: '', subjectPrefix: '' });
  readonly settings = new SettingsResource<SpaceMailView, Field>();
  readonly readOnly = computed(() => !this.settings.view()?.editable);

  constructor() {
    effect(() => {
      const key = this.spaceKey();
      untracked(() => void this.load(key));
    });
  }

  async load(key: string): Promise<void> {
    if (key) await this.settings.load(() => this.api.get<SpaceMailView>(`/api/spaces/${encodeURIComponent(key)}/mail`), (v) => this.apply(v));
    else this.settings.reset();
  }

  async save(): Promise<void> {
    if (this.readOnly()) return;
    await this.settings.save(
      () => {
        const v = this.form.getRawValue();
        const body: SpaceMailInput = { senderName: v.senderName.trim() || null, replyTo: v.replyTo.trim() || null, subjectPrefix: v.subjectPrefix || null };
        return this.api.put<SpaceMailView>(`/api/spaces/${encodeURIComponent(this.spaceKey())}/mail`, body);
      },
      (v) => this.apply(v),
      (p) => (p === 'senderName' || p === 'replyTo' || p === 'subjectPrefix' ? p : null),
    );
  }

  private apply(v: SpaceMailView): void {
    this.form.setValue({ senderName: v.senderName ?? '', replyTo: v.replyTo ?? '', subjectPrefix: v.subjectPrefix ?? '' });
  }
}
