import { ChangeDetectionStrategy, Component, OnInit, inject, signal } from '@angular/core';
import { FormBuilder, ReactiveFormsModule } from '@angular/forms';
import type { ApiError, GlobalPermissions } from '@mailpage/contract';
import { ApiClient, asApiError } from '../core/api';
import { ChipsInput } from '../shared/chips-input';
import { placeError } from '../shared/errors';

/** Who may send pages as mail anywhere on the site, and whether space admins may narrow it. */
@Component({
  selector: 'mp-permissions-form',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [ReactiveFormsModule, ChipsInput],
  template: `
    @if (loadError(); as e) {
      <div class="banner banner-error" role="alert">
        <strong>The permissions could not be loaded.</strong>
        <p>{{ e.message }}</p>
        <button type="button" class="btn" (click)="load()">Try again</button>
      </div>
    } @else if (!loaded()) {
      <p class="hint" aria-live="polite">Loading the permissions…</p>
    } @else {
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
            [error]="groupsError()"
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
        <div class="actions">
          <button type="submit" class="btn btn-primary" [disabled]="busy()">{{ busy() ? 'Saving…' : 'Save' }}</button>
        </div>
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
export class PermissionsForm implements OnInit {
  private readonly api = inject(ApiClient);
  readonly form = inject(FormBuilder).nonNullable.group({ enabled: true, enforceInAllSpaces: false });
  readonly groups = signal<string[]>([]);
  readonly loaded = signal(false);
  readonly loadError = signal<ApiError | null>(null);
  readonly busy = signal(false);
  readonly groupsError = signal<string | null>(null);
  readonly formError = signal<string | null>(null);
  readonly notice = signal<string | null>(null);

  ngOnInit(): void {
    void this.load();
  }

  async load(): Promise<void> {
    this.loadError.set(null);
    try {
      this.apply(await this.api.get<GlobalPermissions>('/api/permissions'));
      this.loaded.set(true);
    } catch (e) {
      this.loadError.set(asApiError(e));
    }
  }

  async save(): Promise<void> {
    if (this.busy()) return;
    this.busy.set(true);
    this.groupsError.set(null);
    this.formError.set(null);
    this.notice.set(null);
    try {
      const body: GlobalPermissions = { ...this.form.getRawValue(), allowedGroups: this.groups() };
      this.apply(await this.api.put<GlobalPermissions>('/api/permissions', body));
      this.notice.set('Saved.');
    } catch (e) {
      const placed = placeError<'groups'>(asApiError(e), (p) => (p.startsWith('allowedGroups') ? 'groups' : null));
      this.groupsError.set(placed.fields.groups ?? null);
      this.formError.set(placed.form);
    } finally {
      this.busy.set(false);
    }
  }

  private apply(p: GlobalPermissions): void {
    this.form.setValue({ enabled: p.enabled, enforceInAllSpaces: p.enforceInAllSpaces });
    this.groups.set([...p.allowedGroups]);
  }
}
