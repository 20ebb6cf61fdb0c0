import { ChangeDetectionStrategy, Component, DestroyRef, OnInit, computed, inject, signal } from '@angular/core';
import { takeUntilDestroyed } from '@angular/core/rxjs-interop';
import { type AbstractControl, FormBuilder, ReactiveFormsModule } from '@angular/forms';
import type { ApiError, MailSettingsInput, MailSettingsView, ProvidedRelayView, SmtpAuthView, SmtpSecurity, VerifyRequest, VerifyResult } from '@mailpage/contract';
import { ApiClient, asApiError } from '../core/api';
import { placeError } from '../shared/errors';
import { formatDateTime } from '../shared/format';

type Field =
  | 'senderName'
  | 'senderAddress'
  | 'subjectPrefix'
  | 'mode'
  | 'host'
  | 'port'
  | 'security'
  | 'username'
  | 'password'
  | 'tenantId'
  | 'clientId'
  | 'clientSecret'
  | 'oauthUser'
  | 'serviceAccountKey'
  | 'refreshToken'
  | 'tlsCa'
  | 'testRecipient';

type AuthType = 'password' | 'oauth2' | 'none';
type OAuthKind = 'microsoft' | 'google-service-account' | 'google-refresh-token';

const PATHS: Record<string, Field> = {
  senderName: 'senderName',
  senderAddress: 'senderAddress',
  subjectPrefix: 'subjectPrefix',
  'server.host': 'host',
  'server.port': 'port',
  'server.security': 'security',
  'server.auth.username': 'username',
  'server.auth.password': 'password',
  'server.auth.tenantId': 'tenantId',
  'server.auth.clientId': 'clientId',
  'server.auth.clientSecret': 'clientSecret',
  'server.auth.user': 'oauthUser',
  'server.auth.serviceAccountKey': 'serviceAccountKey',
  'server.auth.refreshToken': 'refreshToken',
  'server.mode': 'mode',
  'server.tlsCa': 'tlsCa',
  testRecipient: 'testRecipient',
};

/** SMTP failures name what to fix; each is shown next to that field. */
const BY_CODE: Partial<Record<string, Field>> = {
  SMTP_AUTH_FAILED: 'password',
  SMTP_CONNECT_FAILED: 'host',
  SMTP_HOST_NOT_ALLOWED: 'host',
  SMTP_TIMEOUT: 'host',
  SMTP_TLS_FAILED: 'security',
  SMTP_SENDER_REJECTED: 'senderAddress',
  SMTP_RECIPIENT_REJECTED: 'testRecipient',
};

export function fieldOfPath(path: string): Field | null {
  if (PATHS[path]) return PATHS[path];
  // settings.server.host (verify) and server.auth.password.x both name the same fields.
  const trimmed = path.replace(/^settings\./, '');
  return PATHS[trimmed] ?? null;
}

const DEFAULT_PORT: Record<SmtpSecurity, number> = { tls: 465, starttls: 587, none: 25 };

/** The element id of each field's control; its hint is `{id}-hint`, its error `{id}-error`. */
const IDS: Record<Field, string> = {
  senderName: 'ms-sender-name',
  senderAddress: 'ms-sender-address',
  subjectPrefix: 'ms-prefix',
  mode: 'ms-mode',
  host: 'ms-host',
  port: 'ms-port',
  security: 'ms-security',
  username: 'ms-username',
  password: 'ms-password',
  tenantId: 'ms-tenant-id',
  clientId: 'ms-client-id',
  clientSecret: 'ms-client-secret',
  oauthUser: 'ms-oauth-user',
  serviceAccountKey: 'ms-service-account-key',
  refreshToken: 'ms-refresh-token',
  tlsCa: 'ms-tls-ca',
  testRecipient: 'ms-test-recipient',
};

/** Mail server, sender and subject prefix; Save, and Test connection with what the form holds. */
@Component({
  selector: 'mp-mail-settings-form',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [ReactiveFormsModule],
  template: `
    @if (loadError(); as e) {
      <div class="banner banner-error" role="alert">
        <strong>The mail settings could not be loaded.</strong>
        <p>{{ e.message }}</p>
        <button type="button" class="btn" (click)="load()">Try again</button>
      </div>
    } @else if (!loaded()) {
      <p class="hint" aria-live="polite">Loading the mail settings…</p>
    } @else {
      <form [formGroup]="form" (ngSubmit)="save()" novalidate data-mail-settings>
        @if (!configured()) {
          <div class="banner">
            <strong>No mail server yet.</strong>
            <p>Enter your mail server below, test the connection, and save. Until then, nobody can send pages as mail.</p>
          </div>
        }

        <fieldset class="section">
          <legend>Sender</legend>
          <div class="grid-2">
            <div class="field">
              <label for="ms-sender-name">Sender name</label>
              <input id="ms-sender-name" type="text" formControlName="senderName" [attr.aria-invalid]="invalid('senderName')" [attr.aria-describedby]="describedBy('senderName')" />
              @if (err().senderName; as e) {
                <p class="field-error" role="alert" id="ms-sender-name-error">{{ e }}</p>
              }
            </div>
            <div class="field">
              <label for="ms-sender-address">Sender address</label>
              <input id="ms-sender-address" type="email" autocomplete="off" formControlName="senderAddress" [attr.aria-invalid]="invalid('senderAddress')" [attr.aria-describedby]="describedBy('senderAddress', true)" />
              <p class="hint" id="ms-sender-address-hint">
                The From address. Your mail server must allow it.
                @if (mode() === 'provided' && relay()?.fromAddress) {
                  Through the relay, mail comes from {{ relay()!.fromAddress }} and replies go to this address.
                }
              </p>
              @if (err().senderAddress; as e) {
                <p class="field-error" role="alert" id="ms-sender-address-error">{{ e }}</p>
              }
            </div>
          </div>
          <div class="field">
            <label for="ms-prefix">Subject prefix</label>
            <input id="ms-prefix" type="text" formControlName="subjectPrefix" [attr.aria-invalid]="invalid('subjectPrefix')" [attr.aria-describedby]="describedBy('subjectPrefix', true)" />
            <p class="hint" id="ms-prefix-hint">Put before every page title in the subject, for example [Wiki].</p>
            @if (err().subjectPrefix; as e) {
              <p class="field-error" role="alert" id="ms-prefix-error">{{ e }}</p>
            }
          </div>
        </fieldset>

        <fieldset class="section">
          <legend>Mail server</legend>
          <div class="check">
            <input type="radio" id="ms-mode-custom" formControlName="mode" value="custom" />
            <label for="ms-mode-custom">Our own mail server (SMTP)</label>
          </div>
          <div class="check">
            <input type="radio" id="ms-mode-provided" formControlName="mode" value="provided" aria-describedby="ms-mode-provided-hint" />
            <div>
              <label for="ms-mode-provided">The relay provided by the operator of this Mailpage service</label>
              <p class="hint" id="ms-mode-provided-hint">{{ relayText() }}</p>
            </div>
          </div>
          @if (err().mode; as e) {
            <p class="field-error" role="alert" id="ms-mode-error">{{ e }}</p>
          }

          @if (mode() === 'custom') {
            <div class="grid-2">
              <div class="field">
                <label for="ms-host">Host</label>
                <input id="ms-host" type="text" autocomplete="off" spellcheck="false" formControlName="host" placeholder="smtp.example.com" [attr.aria-invalid]="invalid('host')" [attr.aria-describedby]="describedBy('host')" />
                @if (err().host; as e) {
                  <p class="field-error" role="alert" id="ms-host-error">{{ e }}</p>
                }
              </div>
              <div class="field">
                <label for="ms-port">Port</label>
                <input id="ms-port" type="number" min="1" max="65535" formControlName="port" [attr.aria-invalid]="invalid('port')" [attr.aria-describedby]="describedBy('port')" />
                @if (err().port; as e) {
                  <p class="field-error" role="alert" id="ms-port-error">{{ e }}</p>
                }
              </div>
            </div>
            <div class="field">
              <label for="ms-security">Security</label>
              <select id="ms-security" formControlName="security" (change)="securityChanged()" [attr.aria-invalid]="invalid('security')" [attr.aria-describedby]="describedBy('security', true)">
                <option value="tls">TLS from the start (usually port 465)</option>
                <option value="starttls">STARTTLS (usually port 587)</option>
                <option value="none">None: plain text (only if the operator allows it)</option>
              </select>
              <p class="hint" id="ms-security-hint">
                {{ security() === 'none' ? 'Plain text: the sign-in and the mail cross the network unencrypted. Use it only inside a network you trust.' : "Mailpage checks the server's certificate." }}
              </p>
              @if (err().security; as e) {
                <p class="field-error" role="alert" id="ms-security-error">{{ e }}</p>
              }
            </div>
            @if (security() !== 'none') {
              <div class="field">
                <label for="ms-tls-ca">Trusted CA certificate (optional)</label>
                <textarea id="ms-tls-ca" rows="3" spellcheck="false" formControlName="tlsCa" placeholder="-----BEGIN CERTIFICATE-----" [attr.aria-invalid]="invalid('tlsCa')" [attr.aria-describedby]="describedBy('tlsCa', true)"></textarea>
                <p class="hint" id="ms-tls-ca-hint" data-tls-ca-hint>
                  @if (tlsCa(); as ca) {
                    @if (removeTlsCa()) {
                      The saved CA certificate is removed when you save.
                    } @else {
                      Trusted: {{ ca.subject ?? 'a CA certificate' }}{{ ca.expiresAt ? ', valid until ' + ca.expiresAt : '' }}. Paste another to replace it.
                    }
                  } @else {
                    For a server whose certificate your own certificate authority issued: paste that CA's certificate (PEM), or choose the file. Certificates are still checked.
                  }
                </p>
                <div class="actions">
                  <input type="file" accept=".pem,.crt,.cer,application/x-pem-file" aria-label="Choose the CA certificate file" (change)="pickCaFile($any($event.target))" />
                  @if (tlsCa()) {
                    <button type="button" class="btn" (click)="removeTlsCa.set(!removeTlsCa())" data-remove-tls-ca>{{ removeTlsCa() ? 'Keep the saved CA' : 'Remove the saved CA' }}</button>
                  }
                </div>
                @if (err().tlsCa; as e) {
                  <p class="field-error" role="alert" id="ms-tls-ca-error">{{ e }}</p>
                }
              </div>
            }
            <div class="field">
              <label for="ms-auth">Sign in</label>
              <select id="ms-auth" formControlName="authType">
                <option value="password">With a user name and password</option>
                <option value="oauth2">With OAuth2 (Microsoft 365 or Google Workspace)</option>
                <option value="none">No sign-in</option>
              </select>
            </div>
            @switch (authType()) {
              @case ('password') {
                <div class="grid-2">
                  <div class="field">
                    <label for="ms-username">User name</label>
                    <input id="ms-username" type="text" autocomplete="off" spellcheck="false" formControlName="username" [attr.aria-invalid]="invalid('username')" [attr.aria-describedby]="describedBy('username')" />
                    @if (err().username; as e) {
                      <p class="field-error" role="alert" id="ms-username-error">{{ e }}</p>
                    }
                  </div>
                  <div class="field">
                    <label for="ms-password">Password</label>
                    <input id="ms-password" type="password" autocomplete="new-password" formControlName="password" [attr.aria-invalid]="invalid('password')" [attr.aria-describedby]="describedBy('password', true)" />
                    @if (secretSet().password) {
                      <p class="hint" id="ms-password-hint" data-password-set>A password is saved; leave empty to keep it.</p>
                    } @else {
                      <p class="hint" id="ms-password-hint">Stored encrypted; it is never shown again.</p>
                    }
                    @if (err().password; as e) {
                      <p class="field-error" role="alert" id="ms-password-error">{{ e }}</p>
                    }
                  </div>
                </div>
              }
              @case ('oauth2') {
                <div class="field">
                  <label for="ms-oauth-kind">Provider</label>
                  <select id="ms-oauth-kind" formControlName="oauthKind">
                    <option value="microsoft">Microsoft 365 (app registration, client secret)</option>
                    <option value="google-service-account">Google Workspace (service account with domain-wide delegation)</option>
                    <option value="google-refresh-token">Google (OAuth client and refresh token)</option>
                  </select>
                </div>
                <div class="field">
                  <label for="ms-oauth-user">Mailbox to send as</label>
                  <input id="ms-oauth-user" type="email" autocomplete="off" formControlName="oauthUser" [attr.aria-invalid]="invalid('oauthUser')" [attr.aria-describedby]="describedBy('oauthUser')" />
                  @if (err().oauthUser; as e) {
                    <p class="field-error" role="alert" id="ms-oauth-user-error">{{ e }}</p>
                  }
                </div>
                @if (oauthKind() === 'microsoft') {
                  <div class="grid-2">
                    <div class="field">
                      <label for="ms-tenant-id">Directory (tenant) ID</label>
                      <input id="ms-tenant-id" type="text" autocomplete="off" spellcheck="false" formControlName="tenantId" [attr.aria-invalid]="invalid('tenantId')" [attr.aria-describedby]="describedBy('tenantId')" />
                      @if (err().tenantId; as e) {
                        <p class="field-error" role="alert" id="ms-tenant-id-error">{{ e }}</p>
                      }
                    </div>
                    <div class="field">
                      <label for="ms-client-id">Application (client) ID</label>
                      <input id="ms-client-id" type="text" autocomplete="off" spellcheck="false" formControlName="clientId" [attr.aria-invalid]="invalid('clientId')" [attr.aria-describedby]="describedBy('clientId')" />
                      @if (err().clientId; as e) {
                        <p class="field-error" role="alert" id="ms-client-id-error">{{ e }}</p>
                      }
                    </div>
                  </div>
                } @else if (oauthKind() === 'google-refresh-token') {
                  <div class="field">
                    <label for="ms-client-id">OAuth client ID</label>
                    <input id="ms-client-id" type="text" autocomplete="off" spellcheck="false" formControlName="clientId" [attr.aria-invalid]="invalid('clientId')" [attr.aria-describedby]="describedBy('clientId')" />
                    @if (err().clientId; as e) {
                      <p class="field-error" role="alert" id="ms-client-id-error">{{ e }}</p>
                    }
                  </div>
                }
                @if (oauthKind() !== 'google-service-account') {
                  <div class="field">
                    <label for="ms-client-secret">Client secret</label>
                    <input id="ms-client-secret" type="password" autocomplete="new-password" formControlName="clientSecret" [attr.aria-invalid]="invalid('clientSecret')" [attr.aria-describedby]="describedBy('clientSecret', true)" />
                    <p class="hint" id="ms-client-secret-hint">{{ secretSet().clientSecret ? 'A client secret is saved; leave empty to keep it.' : 'Stored encrypted; it is never shown again.' }}</p>
                    @if (err().clientSecret; as e) {
                      <p class="field-error" role="alert" id="ms-client-secret-error">{{ e }}</p>
                    }
                  </div>
                }
                @if (oauthKind() === 'google-refresh-token') {
                  <div class="field">
                    <label for="ms-refresh-token">Refresh token</label>
                    <input id="ms-refresh-token" type="password" autocomplete="off" formControlName="refreshToken" [attr.aria-invalid]="invalid('refreshToken')" [attr.aria-describedby]="describedBy('refreshToken', true)" />
                    <p class="hint" id="ms-refresh-token-hint">{{ secretSet().refreshToken ? 'A refresh token is saved; leave empty to keep it.' : 'Granted for https://mail.google.com/. Stored encrypted.' }}</p>
                    @if (err().refreshToken; as e) {
                      <p class="field-error" role="alert" id="ms-refresh-token-error">{{ e }}</p>
                    }
                  </div>
                }
                @if (oauthKind() === 'google-service-account') {
                  <div class="field">
                    <label for="ms-service-account-key">Service account key (JSON)</label>
                    <textarea id="ms-service-account-key" rows="4" spellcheck="false" formControlName="serviceAccountKey" [attr.aria-invalid]="invalid('serviceAccountKey')" [attr.aria-describedby]="describedBy('serviceAccountKey', true)"></textarea>
                    <p class="hint" id="ms-service-account-key-hint">
                      @if (secretSet().serviceAccountKey) {
                        A key{{ serviceAccountEmail() ? ' for ' + serviceAccountEmail() : '' }} is saved; leave empty to keep it.
                      } @else {
                        Paste the key file downloaded from the Google Cloud console, or choose it below. Stored encrypted.
                      }
                    </p>
                    <input type="file" accept=".json,application/json" aria-label="Choose the service account key file" (change)="pickKeyFile($any($event.target))" />
                    @if (err().serviceAccountKey; as e) {
                      <p class="field-error" role="alert" id="ms-service-account-key-error">{{ e }}</p>
                    }
                  </div>
                }
              }
            }
          }
        </fieldset>

        <fieldset class="section">
          <legend>Test the connection</legend>
          <p class="hint">Connects with the settings above (saved or not), starts TLS and signs in. With a test recipient it also sends a short test mail.</p>
          <div class="field">
            <label for="ms-test-recipient">Test recipient (optional)</label>
            <input id="ms-test-recipient" type="email" autocomplete="off" formControlName="testRecipient" placeholder="you@example.com" [attr.aria-invalid]="invalid('testRecipient')" [attr.aria-describedby]="describedBy('testRecipient')" />
            @if (err().testRecipient; as e) {
              <p class="field-error" role="alert" id="ms-test-recipient-error">{{ e }}</p>
            }
          </div>
        </fieldset>

        <div class="actions">
          <button type="submit" class="btn btn-primary" [disabled]="busy() !== null">{{ busy() === 'save' ? 'Saving…' : 'Save' }}</button>
          <button type="button" class="btn" [disabled]="busy() !== null" (click)="test()" data-test-connection>{{ busy() === 'test' ? 'Testing…' : 'Test connection' }}</button>
          @if (updatedAt()) {
            <span class="hint">Last saved {{ updatedAt() }}</span>
          }
        </div>
        <div aria-live="polite" data-outcome>
          @if (formError(); as e) {
            <div class="banner banner-error" role="alert" data-form-error>
              <p>{{ e }}</p>
            </div>
          }
          @if (notice(); as n) {
            <div class="banner banner-success" data-notice>
              <p>{{ n }}</p>
            </div>
          }
        </div>
      </form>
    }
  `,
})
export class MailSettingsForm implements OnInit {
  private readonly api = inject(ApiClient);
  private readonly destroyRef = inject(DestroyRef);

  readonly form = inject(FormBuilder).nonNullable.group({
    senderName: '',
    senderAddress: '',
    subjectPrefix: '',
    mode: 'custom' as 'custom' | 'provided',
    host: '',
    port: 587,
    security: 'starttls' as SmtpSecurity,
    authType: 'password' as AuthType,
    username: '',
    password: '',
    oauthKind: 'microsoft' as OAuthKind,
    oauthUser: '',
    tenantId: '',
    clientId: '',
    clientSecret: '',
    refreshToken: '',
    serviceAccountKey: '',
    tlsCa: '',
    testRecipient: '',
  });

  readonly loaded = signal(false);
  readonly loadError = signal<ApiError | null>(null);
  readonly configured = signal(true);
  readonly relay = signal<ProvidedRelayView | null>(null);
  /** Which write-only secrets the service holds (never their values). */
  readonly secretSet = signal({ password: false, clientSecret: false, refreshToken: false, serviceAccountKey: false });
  readonly serviceAccountEmail = signal<string | null>(null);
  /** The saved CA certificate, as the service names it (never its PEM), and whether the admin asked to remove it. */
  readonly tlsCa = signal<{ subject: string | null; expiresAt: string | null } | null>(null);
  readonly removeTlsCa = signal(false);
  readonly updatedAt = signal<string | null>(null);
  readonly busy = signal<'save' | 'test' | null>(null);
  readonly err = signal<Partial<Record<Field, string>>>({});
  readonly formError = signal<string | null>(null);
  readonly notice = signal<string | null>(null);
  private readonly value = signal(this.form.getRawValue());
  readonly mode = computed(() => this.value().mode);
  readonly authType = computed(() => this.value().authType);
  readonly oauthKind = computed(() => this.value().oauthKind);
  readonly security = computed(() => this.value().security);
  readonly relayText = computed(() => {
    const r = this.relay();
    if (!r?.available) return 'The operator of this service runs no relay, so only your own mail server can be used.';
    const quota = r.dailyQuota !== null ? ` Up to ${r.dailyQuota} recipients a day${r.usedToday !== null ? ` (${r.usedToday} used today)` : ''}.` : '';
    return `Mail goes out from ${r.fromAddress ?? "the operator's address"}; replies go to your sender address.${quota}`;
  });

  constructor() {
    this.form.valueChanges.pipe(takeUntilDestroyed(this.destroyRef)).subscribe(() => this.value.set(this.form.getRawValue()));
    // Editing a field clears the server's sentence about it.
    for (const [name, control] of Object.entries(this.form.controls) as [string, AbstractControl][]) {
      if (!(name in IDS)) continue;
      const field = name as Field;
      control.valueChanges.pipe(takeUntilDestroyed(this.destroyRef)).subscribe(() => {
        if (this.err()[field]) this.err.update((e) => ({ ...e, [field]: undefined }));
      });
    }
  }

  ngOnInit(): void {
    void this.load();
  }

  invalid(f: Field): true | null {
    return this.err()[f] ? true : null;
  }

  describedBy(f: Field, hasHint = false): string | null {
    const ids = [hasHint ? `${IDS[f]}-hint` : '', this.err()[f] ? `${IDS[f]}-error` : ''].filter(Boolean);
    return ids.length ? ids.join(' ') : null;
  }

  async load(): Promise<void> {
    this.loadError.set(null);
    try {
      this.apply(await this.api.get<MailSettingsView>('/api/settings/mail'));
      this.loaded.set(true);
    } catch (e) {
      this.loadError.set(asApiError(e));
    }
  }

  securityChanged(): void {
    const { port, security } = this.form.getRawValue();
    // Follow the usual port for the chosen security unless the admin typed another one.
    if (Object.values(DEFAULT_PORT).includes(Number(port))) this.form.controls.port.setValue(DEFAULT_PORT[security]);
  }

  async pickKeyFile(el: HTMLInputElement): Promise<void> {
    const f = el.files?.[0];
    if (f) this.form.controls.serviceAccountKey.setValue((await f.text()).trim());
  }

  async pickCaFile(el: HTMLInputElement): Promise<void> {
    const f = el.files?.[0];
    if (f) this.form.controls.tlsCa.setValue((await f.text()).trim());
  }

  /** What the form holds, as the service reads it. Empty secrets are left out: the saved ones stay. */
  toInput(): MailSettingsInput {
    const v = this.form.getRawValue();
    const secret = <K extends string>(key: K, value: string) => (value ? ({ [key]: value } as Record<K, string>) : {});
    let auth: Extract<MailSettingsInput['server'], { mode: 'custom' }>['auth'];
    if (v.authType === 'none') auth = { type: 'none' };
    else if (v.authType === 'password') auth = { type: 'password', username: v.username.trim(), ...secret('password', v.password) };
    else if (v.oauthKind === 'microsoft') {
      auth = { type: 'oauth2', provider: 'microsoft', tenantId: v.tenantId.trim(), clientId: v.clientId.trim(), user: v.oauthUser.trim(), ...secret('clientSecret', v.clientSecret) };
    } else if (v.oauthKind === 'google-service-account') {
      auth = { type: 'oauth2', provider: 'google', credential: 'service-account', user: v.oauthUser.trim(), ...secret('serviceAccountKey', v.serviceAccountKey.trim()) };
    } else {
      auth = {
        type: 'oauth2',
        provider: 'google',
        credential: 'refresh-token',
        user: v.oauthUser.trim(),
        clientId: v.clientId.trim(),
        ...secret('clientSecret', v.clientSecret),
        ...secret('refreshToken', v.refreshToken),
      };
    }
    // A pasted CA replaces the saved one; none keeps it (same host), unless the admin removed it.
    const tlsCa = v.security === 'none' ? {} : v.tlsCa.trim() ? { tlsCa: v.tlsCa.trim() } : this.removeTlsCa() ? { tlsCa: null } : {};
    const server: MailSettingsInput['server'] =
      v.mode === 'provided' ? { mode: 'provided' } : { mode: 'custom', host: v.host.trim(), port: Number(v.port), security: v.security, auth, ...tlsCa };
    return { senderName: v.senderName, senderAddress: v.senderAddress.trim(), subjectPrefix: v.subjectPrefix, server };
  }

  async save(): Promise<void> {
    if (this.busy()) return;
    this.begin('save');
    try {
      const view = await this.api.put<MailSettingsView>('/api/settings/mail', this.toInput());
      this.apply(view, true);
      this.notice.set('Saved. Senders use these settings from now on.');
    } catch (e) {
      this.fail(e);
    } finally {
      this.busy.set(null);
    }
  }

  async test(): Promise<void> {
    if (this.busy()) return;
    this.begin('test');
    const testRecipient = this.form.controls.testRecipient.getRawValue().trim();
    const body: VerifyRequest = { settings: this.toInput(), ...(testRecipient ? { testRecipient } : {}) };
    try {
      const r = await this.api.post<VerifyResult>('/api/settings/mail/verify', body);
      this.notice.set(`${r.message}${r.steps.length ? ` (checked: ${r.steps.join(', ')})` : ''}`);
    } catch (e) {
      this.fail(e);
    } finally {
      this.busy.set(null);
    }
  }

  private begin(what: 'save' | 'test'): void {
    this.busy.set(what);
    this.err.set({});
    this.formError.set(null);
    this.notice.set(null);
  }

  private fail(e: unknown): void {
    const v = this.form.getRawValue();
    // A refused sign-in concerns the secret the admin gave: the password, or the OAuth2 credential.
    const authField: Field =
      v.authType === 'password' ? 'password' : v.oauthKind === 'google-service-account' ? 'serviceAccountKey' : v.oauthKind === 'google-refresh-token' ? 'refreshToken' : 'clientSecret';
    const placed = placeError<Field>(asApiError(e), fieldOfPath, { ...BY_CODE, SMTP_AUTH_FAILED: v.mode === 'custom' && v.authType !== 'none' ? authField : undefined });
    this.err.set(placed.fields);
    this.formError.set(placed.form);
  }

  private apply(v: MailSettingsView, keepTestRecipient = false): void {
    this.configured.set(v.configured);
    this.relay.set(v.providedRelay ?? null);
    this.updatedAt.set(v.updatedAt ? formatDateTime(v.updatedAt) : null);
    const custom = v.server.mode === 'custom' ? v.server : null;
    const a: SmtpAuthView = custom?.auth ?? { type: 'password', username: '', passwordSet: false };
    const oauth = a.type === 'oauth2' ? a : null;
    this.secretSet.set({
      password: a.type === 'password' && a.passwordSet,
      clientSecret: !!oauth && 'clientSecretSet' in oauth && oauth.clientSecretSet,
      refreshToken: !!oauth && 'refreshTokenSet' in oauth && oauth.refreshTokenSet,
      serviceAccountKey: !!oauth && 'serviceAccountKeySet' in oauth && oauth.serviceAccountKeySet,
    });
    this.serviceAccountEmail.set(oauth && 'serviceAccountEmail' in oauth ? oauth.serviceAccountEmail : null);
    this.tlsCa.set(custom?.tlsCaSet ? { subject: custom.tlsCaSubject ?? null, expiresAt: custom.tlsCaExpiresAt ? formatDateTime(custom.tlsCaExpiresAt) : null } : null);
    this.removeTlsCa.set(false);
    const oauthKind: OAuthKind = !oauth || oauth.provider === 'microsoft' ? 'microsoft' : oauth.credential === 'service-account' ? 'google-service-account' : 'google-refresh-token';
    this.form.setValue({
      senderName: v.senderName,
      senderAddress: v.senderAddress,
      subjectPrefix: v.subjectPrefix,
      mode: v.server.mode,
      host: custom?.host ?? '',
      port: custom?.port ?? 587,
      security: custom?.security ?? 'starttls',
      authType: a.type,
      username: a.type === 'password' ? a.username : '',
      password: '',
      oauthKind,
      oauthUser: oauth?.user ?? '',
      tenantId: oauth && 'tenantId' in oauth ? oauth.tenantId : '',
      clientId: oauth && 'clientId' in oauth ? oauth.clientId : '',
      clientSecret: '',
      refreshToken: '',
      serviceAccountKey: '',
      tlsCa: '',
      testRecipient: keepTestRecipient ? this.form.controls.testRecipient.getRawValue() : '',
    });
    this.err.set({});
  }
}
