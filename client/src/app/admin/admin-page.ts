import { ChangeDetectionStrategy, Component, OnInit, computed, inject, input, signal } from '@angular/core';
import { Router } from '@angular/router';
import type { ApiError, MeView } from '@mailpage/contract';
import { ApiClient, asApiError } from '../core/api';
import { HOST } from '../core/host';
import { Tabs, type Tab } from '../shared/tabs';
import { AuditLog } from './audit-log';
import { EncryptionForm } from './encryption-form';
import { LayoutForm } from './layout-form';
import { MailSettingsForm } from './mail-settings-form';
import { Outbox } from './outbox';
import { PermissionsForm } from './permissions-form';
import { RecipientsForm } from './recipients-form';

/** Global settings (Confluence's "Mailpage" settings page), for site admins. One tab per concern. */
@Component({
  selector: 'mp-admin-page',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [Tabs, MailSettingsForm, PermissionsForm, RecipientsForm, LayoutForm, EncryptionForm, AuditLog, Outbox],
  template: `
    <div class="page">
      <h1>Mailpage settings</h1>
      @if (meError(); as e) {
        <div class="banner banner-error" role="alert">
          <strong>Your permissions could not be checked.</strong>
          <p>{{ e.message }}</p>
          <button type="button" class="btn" (click)="load()">Try again</button>
        </div>
      } @else if (!me()) {
        <p class="hint" aria-live="polite">Checking your permissions…</p>
      } @else if (!me()!.isSiteAdmin) {
        <div class="banner banner-warning" role="alert" data-not-admin>
          <strong>Only a Confluence site admin can change Mailpage's settings.</strong>
          <p>Ask a site admin of your Confluence site if the mail server, the permissions or the encryption need to change.</p>
        </div>
      } @else {
        <p class="lead">How pages are sent as mail on this site: the mail server, who may send, where mail may go, how it looks, encryption, and a log of every send.</p>
        <mp-tabs prefix="admin" label="Settings" [tabs]="tabs()" [selected]="current()" (selectedChange)="select($event)" />
        <div role="tabpanel" [id]="'admin-panel-' + current()" [attr.aria-labelledby]="'admin-tab-' + current()">
          @switch (current()) {
            @case ('mail') {
              <mp-mail-settings-form />
            }
            @case ('permissions') {
              <mp-permissions-form />
            }
            @case ('recipients') {
              <mp-recipients-form />
            }
            @case ('layout') {
              <mp-layout-form />
            }
            @case ('encryption') {
              <mp-encryption-form />
            }
            @case ('audit') {
              <mp-audit-log />
            }
            @case ('outbox') {
              <mp-outbox />
            }
          }
        </div>
      }
    </div>
  `,
})
export class AdminPage implements OnInit {
  /** From the route (`#/admin/:tab`). */
  readonly tab = input<string>();

  private readonly api = inject(ApiClient);
  private readonly router = inject(Router);
  private readonly local = inject(HOST).mode === 'local';

  readonly tabs = computed<Tab[]>(() => [
    { id: 'mail', label: 'Mail server' },
    { id: 'permissions', label: 'Permissions' },
    { id: 'recipients', label: 'Recipients' },
    { id: 'layout', label: 'Layout' },
    { id: 'encryption', label: 'Encryption' },
    { id: 'audit', label: 'Audit log' },
    ...(this.local ? [{ id: 'outbox', label: 'Outbox (local)' }] : []),
  ]);
  readonly current = computed(() => {
    const t = this.tab();
    return this.tabs().some((x) => x.id === t) ? t! : 'mail';
  });
  readonly me = signal<MeView | null>(null);
  readonly meError = signal<ApiError | null>(null);

  ngOnInit(): void {
    void this.load();
  }

  async load(): Promise<void> {
    this.meError.set(null);
    try {
      this.me.set(await this.api.get<MeView>('/api/me'));
    } catch (e) {
      this.meError.set(asApiError(e));
    }
  }

  select(id: string): void {
    void this.router.navigate(['/admin', id], { replaceUrl: true });
  }
}
