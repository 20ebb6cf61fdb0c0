import { ChangeDetectionStrategy, Component, computed, effect, inject, input, signal, untracked } from '@angular/core';
import { FormBuilder, ReactiveFormsModule } from '@angular/forms';
import type { SpacePermissions, SpacePermissionsView } from '@mailpage/contract';
import { ApiClient } from '../core/api';
import { HOST } from '../core/host';
import { ChipsInput } from '../shared/chips-input';
import { LoadState } from '../shared/load-state';
import { SaveActions, SaveOutcome } from '../shared/save-bar';
import { SettingsResource } from '../shared/settings-resource';
import { SpaceMailForm } from './space-mail-form';

/** A space's own rule: sending on or off, and which groups may send (unless the site admin's rule applies). */
@Component({
  selector: 'mp-space-settings',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [ReactiveFormsModule, ChipsInput, LoadState, SaveActions, SaveOutcome, SpaceMailForm],
  template: `
    <div class="page">
      <h1>Mailpage in space {{ key() }}</h1>
      <p class="lead">Who may send this space's pages as mail, and who the mail comes from.</p>
      <mp-load-state failure="This space's settings could not be loaded." loading="Loading…" [error]="settings.loadError()" [loaded]="settings.loaded()" (retry)="load(key())">
        <ng-template>
          @if (settings.view()!.enforcedGlobally) {
            <div class="banner" role="note" data-enforced>
              <strong>The site admin's rule applies in all spaces.</strong>
              <p>A site admin has set who may send pages as mail for the whole site, so this space's rule cannot be changed here. Ask a site admin if it should differ for this space.</p>
            </div>
          } @else if (!settings.view()!.editable) {
            <div class="banner" role="note" data-not-editable>
              <strong>Only admins of this space can change this.</strong>
              <p>You can see the rule, but only a space admin (or a site admin) can change it.</p>
            </div>
          }
          <form [formGroup]="form" (ngSubmit)="save()" novalidate data-space-permissions>
            <fieldset class="section" [disabled]="readOnly()">
              <legend>Sending from this space</legend>
              <div class="check">
                <input type="checkbox" id="space-enabled" formControlName="enabled" />
                <label for="space-enabled">Allow sending pages of this space as mail</label>
              </div>
              <mp-chips-input
                label="Allowed groups"
                placeholder="Type a Confluence group name and press Enter"
                [hint]="groups().length ? 'Only members of these groups may send from this space.' : 'No groups: everyone the site rule allows may send.'"
                [error]="settings.errors().groups ?? null"
                [disabled]="readOnly() || !form.controls.enabled.value"
                [(values)]="groups"
              />
            </fieldset>
            @if (!readOnly()) {
              <div mpSaveActions [busy]="settings.busy()"></div>
            }
            <div mpSaveOutcome [error]="settings.formError()" [notice]="settings.notice()"></div>
          </form>
          <mp-space-mail-form [spaceKey]="key()" />
        </ng-template>
      </mp-load-state>
    </div>
  `,
})
export class SpaceSettings {
  /** From the route (`#/space/:spaceKey`); in Confluence's space settings the context names the space. */
  readonly spaceKey = input<string>();

  private readonly api = inject(ApiClient);
  private readonly host = inject(HOST);
  readonly form = inject(FormBuilder).nonNullable.group({ enabled: true });
  readonly key = computed(() => this.spaceKey() ?? this.host.confluence?.spaceKey ?? '');
  readonly groups = signal<string[]>([]);
  readonly settings = new SettingsResource<SpacePermissionsView, 'groups'>();
  readonly readOnly = computed(() => {
    const v = this.settings.view();
    return !v || v.enforcedGlobally || !v.editable;
  });

  constructor() {
    effect(() => {
      const key = this.key();
      untracked(() => void this.load(key));
    });
  }

  load(key: string): Promise<void> {
    return this.settings.load(() => this.api.get<SpacePermissionsView>(`/api/spaces/${encodeURIComponent(key)}/permissions`), (v) => this.apply(v));
  }

  async save(): Promise<void> {
    if (this.readOnly()) return;
    await this.settings.save(
      () => {
        const body: SpacePermissions = { enabled: this.form.controls.enabled.getRawValue(), allowedGroups: this.groups() };
        return this.api.put<SpacePermissionsView>(`/api/spaces/${encodeURIComponent(this.key())}/permissions`, body);
      },
      (v) => this.apply(v),
      (p) => (p.startsWith('allowedGroups') ? 'groups' : null),
    );
  }

  private apply(v: SpacePermissionsView): void {
    this.form.setValue({ enabled: v.enabled });
    this.groups.set([...v.allowedGroups]);
  }
}
