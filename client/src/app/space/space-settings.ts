import { ChangeDetectionStrategy, Component, computed, effect, inject, input, signal, untracked } from '@angular/core';
import { FormBuilder, ReactiveFormsModule } from '@angular/forms';
import type { ApiError, SpacePermissions, SpacePermissionsView } from '@mailpage/contract';
import { ApiClient, asApiError } from '../core/api';
import { HOST } from '../core/host';
import { ChipsInput } from '../shared/chips-input';
import { placeError } from '../shared/errors';
import { SpaceMailForm } from './space-mail-form';

/** A space's own rule: sending on or off, and which groups may send (unless the site admin's rule applies). */
@Component({
  selector: 'mp-space-settings',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [ReactiveFormsModule, ChipsInput, SpaceMailForm],
  template: `
    <div class="page">
      <h1>Mailpage in space {{ key() }}</h1>
      <p class="lead">Who may send this space's pages as mail, and who the mail comes from.</p>
      @if (loadError(); as e) {
        <div class="banner banner-error" role="alert">
          <strong>This space's settings could not be loaded.</strong>
          <p>{{ e.message }}</p>
          <button type="button" class="btn" (click)="load(key())">Try again</button>
        </div>
      } @else if (!view()) {
        <p class="hint" aria-live="polite">Loading…</p>
      } @else {
        @if (view()!.enforcedGlobally) {
          <div class="banner" role="note" data-enforced>
            <strong>The site admin's rule applies in all spaces.</strong>
            <p>A site admin has set who may send pages as mail for the whole site, so this space's rule cannot be changed here. Ask a site admin if it should differ for this space.</p>
          </div>
        } @else if (!view()!.editable) {
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
              [error]="groupsError()"
              [disabled]="readOnly() || !form.controls.enabled.value"
              [(values)]="groups"
            />
          </fieldset>
          @if (!readOnly()) {
            <div class="actions">
              <button type="submit" class="btn btn-primary" [disabled]="busy()">{{ busy() ? 'Saving…' : 'Save' }}</button>
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
        <mp-space-mail-form [spaceKey]="key()" />
      }
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
  readonly view = signal<SpacePermissionsView | null>(null);
  readonly readOnly = computed(() => {
    const v = this.view();
    return !v || v.enforcedGlobally || !v.editable;
  });
  readonly loadError = signal<ApiError | null>(null);
  readonly busy = signal(false);
  readonly groupsError = signal<string | null>(null);
  readonly formError = signal<string | null>(null);
  readonly notice = signal<string | null>(null);

  constructor() {
    effect(() => {
      const key = this.key();
      untracked(() => void this.load(key));
    });
  }

  async load(key: string): Promise<void> {
    this.loadError.set(null);
    this.view.set(null);
    try {
      this.apply(await this.api.get<SpacePermissionsView>(`/api/spaces/${encodeURIComponent(key)}/permissions`));
    } catch (e) {
      this.loadError.set(asApiError(e));
    }
  }

  async save(): Promise<void> {
    if (this.busy() || this.readOnly()) return;
    this.busy.set(true);
    this.groupsError.set(null);
    this.formError.set(null);
    this.notice.set(null);
    try {
      const body: SpacePermissions = { enabled: this.form.controls.enabled.getRawValue(), allowedGroups: this.groups() };
      this.apply(await this.api.put<SpacePermissionsView>(`/api/spaces/${encodeURIComponent(this.key())}/permissions`, body));
      this.notice.set('Saved.');
    } catch (e) {
      const placed = placeError<'groups'>(asApiError(e), (p) => (p.startsWith('allowedGroups') ? 'groups' : null));
      this.groupsError.set(placed.fields.groups ?? null);
      this.formError.set(placed.form);
    } finally {
      this.busy.set(false);
    }
  }

  private apply(v: SpacePermissionsView): void {
    this.view.set(v);
    this.form.setValue({ enabled: v.enabled });
    this.groups.set([...v.allowedGroups]);
  }
}
