import { ChangeDetectionStrategy, Component, OnInit, inject, signal } from '@angular/core';
import { FormBuilder, ReactiveFormsModule } from '@angular/forms';
import type { GlobalPermissions } from '@mailpage/contract';
import { ApiClient } from '../core/api';
import { ChipsInput } from '../shared/chips-input';
import { LoadState } from '../shared/load-state';
import { SaveActions, SaveOutcome } from '../shared/save-bar';
import { SettingsResource } from '../shared/settings-resource';

/** Who may send pages as mail anywhere on the site, and whether space admins may narrow it. */
@Component({
  selector: 'mp-permissions-form',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [ReactiveFormsModule, ChipsInput, LoadState, SaveActions, SaveOutcome],
  template: `
    <mp-load-state failure="The permissions could not be loaded." loading="Loading the permissions…" [error]="settings.loadError()" [loaded]="settings.loaded()" (retry)="load()">
      <ng-template>
        <form [formGroup]="form" (ngSubmit)="save()" novalidate data-permissions>
          <fieldset class="section">
            <legend>Who may send pages as mail</legend>
            <div class="check">
              <input type="checkbox" id="perm-enabled" formControlName="enabled" />
              <label for="perm-enabled">Allow sending pages as mail on this site</label>
            </div>
            <mp-chips-input
              label="Allowed groups"
              placeholder="Type a Confluence group name and press Enter"
              [hint]="groups().length ? 'Only members of these groups may send.' : 'No groups: everyone who can see a page may send it.'"
              [error]="settings.errors().groups ?? null"
              [disabled]="!form.controls.enabled.value"
              [(values)]="groups"
            />
            <div class="check">
              <input type="checkbox" id="perm-enforce" formControlName="enforceInAllSpaces" aria-describedby="perm-enforce-hint" />
              <div>
                <label for="perm-enforce">Enforce this rule in all spaces</label>
                <p class="hint" id="perm-enforce-hint">When on, space admins cannot turn sending off or limit it to other groups in their space.</p>
              </div>
            </div>
          </fieldset>
          <div mpSaveActions [busy]="settings.busy()"></div>
          <div mpSaveOutcome [error]="settings.formError()" [notice]="settings.notice()"></div>
        </form>
      </ng-template>
    </mp-load-state>
  `,
})
export class PermissionsForm implements OnInit {
  private readonly api = inject(ApiClient);
  readonly form = inject(FormBuilder).nonNullable.group({ enabled: true, enforceInAllSpaces: false });
  readonly groups = signal<string[]>([]);
  readonly settings = new SettingsResource<GlobalPermissions, 'groups'>();

  ngOnInit(): void {
    void this.load();
  }

  load(): Promise<void> {
    return this.settings.load(() => this.api.get<GlobalPermissions>('/api/permissions'), (p) => this.apply(p));
  }

  save(): Promise<void> {
    return this.settings.save(
      () => {
        const body: GlobalPermissions = { ...this.form.getRawValue(), allowedGroups: this.groups() };
        return this.api.put<GlobalPermissions>('/api/permissions', body);
      },
      (p) => this.apply(p),
      (path) => (path.startsWith('allowedGroups') ? 'groups' : null),
    );
  }

  private apply(p: GlobalPermissions): void {
    this.form.setValue({ enabled: p.enabled, enforceInAllSpaces: p.enforceInAllSpaces });
    this.groups.set([...p.allowedGroups]);
  }
}
