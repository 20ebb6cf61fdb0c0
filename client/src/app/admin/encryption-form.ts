import { ChangeDetectionStrategy, Component, OnInit, inject, signal } from '@angular/core';
import { FormBuilder, ReactiveFormsModule } from '@angular/forms';
import type { EncryptionPolicy, EncryptionSettingsRequest, EncryptionSettingsView } from '@mailpage/contract';
import { ApiClient } from '../core/api';
import { formatDate, formatFingerprint, readFileAsBase64 } from '../shared/format';
import { LoadState } from '../shared/load-state';
import { SaveActions, SaveOutcome } from '../shared/save-bar';
import { SettingsResource } from '../shared/settings-resource';

type Field = 'policy' | 'protectedSubject' | 'pgp' | 'smime';

const fieldOf = (path: string): Field | null => {
  if (path.startsWith('pgpSigningKey')) return 'pgp';
  if (path.startsWith('smimeSigningKeystore')) return 'smime';
  if (path === 'policy' || path === 'protectedSubject') return path;
  return null;
};

/** Encryption policy and the server's signing keys. Private keys, passphrases and passwords are write-only. */
@Component({
  selector: 'mp-encryption-form',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [ReactiveFormsModule, LoadState, SaveActions, SaveOutcome],
  template: `
    <mp-load-state failure="The encryption settings could not be loaded." loading="Loading the encryption settings…" [error]="settings.loadError()" [loaded]="settings.loaded()" (retry)="load()">
      <ng-template>
        <form [formGroup]="form" (ngSubmit)="save()" novalidate data-encryption>
          <fieldset class="section">
            <legend>When to encrypt</legend>
            @for (p of policies; track p.value) {
              <div class="check">
                <input type="radio" formControlName="policy" [id]="'enc-policy-' + p.value" [value]="p.value" />
                <div>
                  <label [for]="'enc-policy-' + p.value">{{ p.label }}</label>
                  <p class="hint">{{ p.help }}</p>
                </div>
              </div>
            }
            @if (settings.errors().policy; as e) {
              <p class="field-error" role="alert">{{ e }}</p>
            }
            <div class="grid-2">
              <div class="field">
                <label for="enc-preferred">Preferred method</label>
                <select id="enc-preferred" formControlName="preferred" aria-describedby="enc-preferred-hint">
                  <option value="pgp">PGP/MIME</option>
                  <option value="smime">S/MIME</option>
                </select>
                <p class="hint" id="enc-preferred-hint">Used when a recipient has both a PGP key and an S/MIME certificate.</p>
              </div>
              <div class="field">
                <label for="enc-subject">Subject shown outside the encryption</label>
                <input id="enc-subject" type="text" formControlName="protectedSubject" [attr.aria-invalid]="!!settings.errors().protectedSubject || null" [attr.aria-describedby]="'enc-subject-hint' + (settings.errors().protectedSubject ? ' enc-subject-error' : '')" />
                <p class="hint" id="enc-subject-hint">The real subject travels inside the encrypted part (RFC 9788); mail servers only see this.</p>
                @if (settings.errors().protectedSubject; as e) {
                  <p class="field-error" role="alert" id="enc-subject-error">{{ e }}</p>
                }
              </div>
            </div>
            <div class="check">
              <input type="checkbox" id="enc-sign" formControlName="sign" />
              <label for="enc-sign">Sign every mail with the server's key below</label>
            </div>
          </fieldset>

          <fieldset class="section">
            <legend>PGP signing key</legend>
            @if (settings.view()!.pgpSigningKey; as k) {
              <dl class="facts">
                <dt>Fingerprint</dt>
                <dd class="mono" data-fingerprint>{{ fingerprint(k.fingerprint) }}</dd>
                <dt>Addresses</dt>
                <dd>{{ k.emails.join(', ') || 'none named' }}</dd>
                <dt>Expires</dt>
                <dd>{{ date(k.expiresAt) }}</dd>
                <dt>Passphrase</dt>
                <dd>{{ k.passphraseSet ? 'saved' : 'none' }}</dd>
              </dl>
              <div class="check">
                <input type="checkbox" id="enc-pgp-remove" formControlName="removePgp" />
                <label for="enc-pgp-remove">Remove this key when saving</label>
              </div>
            } @else {
              <p class="hint">No PGP signing key. Add an armored private key to sign mail with PGP.</p>
            }
            <div class="field">
              <label for="enc-pgp-key">{{ settings.view()!.pgpSigningKey ? 'Replace with' : 'Add' }} an armored private key</label>
              <textarea id="enc-pgp-key" formControlName="pgpArmored" rows="4" spellcheck="false" autocomplete="off" aria-describedby="enc-pgp-key-hint" placeholder="-----BEGIN PGP PRIVATE KEY BLOCK-----"></textarea>
              <p class="hint" id="enc-pgp-key-hint">Paste it or choose the file. It is stored encrypted and never shown again.</p>
              <input type="file" aria-label="Choose a PGP private key file" accept=".asc,.gpg,.pgp,.key,.txt" (change)="pickPgp($any($event.target))" />
            </div>
            <div class="field">
              <label for="enc-pgp-pass">Passphrase of the key</label>
              <input id="enc-pgp-pass" type="password" autocomplete="new-password" formControlName="pgpPassphrase" />
            </div>
            @if (settings.errors().pgp; as e) {
              <p class="field-error" role="alert">{{ e }}</p>
            }
          </fieldset>

          <fieldset class="section">
            <legend>S/MIME signing certificate</legend>
            @if (settings.view()!.smimeSigningCert; as c) {
              <dl class="facts">
                <dt>Fingerprint</dt>
                <dd class="mono" data-fingerprint>{{ fingerprint(c.fingerprint) }}</dd>
                <dt>Addresses</dt>
                <dd>{{ c.emails.join(', ') || 'none named' }}</dd>
                <dt>Expires</dt>
                <dd>{{ date(c.expiresAt) }}</dd>
                <dt>Password</dt>
                <dd>{{ c.passwordSet ? 'saved' : 'none' }}</dd>
              </dl>
              <div class="check">
                <input type="checkbox" id="enc-smime-remove" formControlName="removeSmime" />
                <label for="enc-smime-remove">Remove this certificate when saving</label>
              </div>
            } @else {
              <p class="hint">No S/MIME certificate. Add a PKCS#12 file (.p12 or .pfx) with the certificate and its private key to sign mail with S/MIME.</p>
            }
            <div class="field">
              <label for="enc-p12">{{ settings.view()!.smimeSigningCert ? 'Replace with' : 'Add' }} a PKCS#12 file</label>
              <input id="enc-p12" type="file" accept=".p12,.pfx" (change)="pickP12($any($event.target))" />
              @if (p12Name(); as n) {
                <p class="hint">Chosen: {{ n }}</p>
              }
            </div>
            <div class="field">
              <label for="enc-p12-pass">Password of the PKCS#12 file</label>
              <input id="enc-p12-pass" type="password" autocomplete="new-password" formControlName="p12Password" />
            </div>
            @if (settings.errors().smime; as e) {
              <p class="field-error" role="alert">{{ e }}</p>
            }
          </fieldset>

          <div mpSaveActions [busy]="settings.busy()"></div>
          <div mpSaveOutcome [error]="settings.formError()" [notice]="settings.notice()"></div>
        </form>
      </ng-template>
    </mp-load-state>
  `,
})
export class EncryptionForm implements OnInit {
  private readonly api = inject(ApiClient);
  readonly policies: { value: EncryptionPolicy; label: string; help: string }[] = [
    { value: 'off', label: 'Never', help: 'Mail goes unencrypted; senders cannot choose encryption.' },
    { value: 'opportunistic', label: 'When every recipient has a key', help: 'Encrypt when Mailpage knows a key for each recipient; otherwise send unencrypted.' },
    { value: 'required', label: 'Always', help: 'Refuse to send, naming the recipients without a key, unless every recipient has one.' },
  ];
  readonly form = inject(FormBuilder).nonNullable.group({
    policy: 'off' as EncryptionPolicy,
    preferred: 'pgp' as 'pgp' | 'smime',
    sign: false,
    protectedSubject: '[...]',
    pgpArmored: '',
    pgpPassphrase: '',
    removePgp: false,
    p12Password: '',
    removeSmime: false,
  });
  readonly settings = new SettingsResource<EncryptionSettingsView, Field>();
  readonly p12Name = signal<string | null>(null);
  private p12Base64: string | null = null;

  ngOnInit(): void {
    void this.load();
  }

  load(): Promise<void> {
    return this.settings.load(() => this.api.get<EncryptionSettingsView>('/api/settings/encryption'), (v) => this.apply(v));
  }

  fingerprint(fp: string): string {
    return formatFingerprint(fp);
  }

  date(iso: string | null): string {
    return formatDate(iso);
  }

  async pickPgp(el: HTMLInputElement): Promise<void> {
    const f = el.files?.[0];
    if (f) this.form.controls.pgpArmored.setValue((await f.text()).trim());
  }

  async pickP12(el: HTMLInputElement): Promise<void> {
    const f = el.files?.[0];
    if (!f) return;
    this.p12Base64 = await readFileAsBase64(f);
    this.p12Name.set(f.name);
  }

  /** Secrets are sent only when the admin gave new ones; omitting them keeps the saved ones, null removes them. */
  toRequest(): EncryptionSettingsRequest {
    const v = this.form.getRawValue();
    const req: EncryptionSettingsRequest = { policy: v.policy, preferred: v.preferred, sign: v.sign, protectedSubject: v.protectedSubject };
    if (v.pgpArmored.trim()) req.pgpSigningKey = { armored: v.pgpArmored.trim(), passphrase: v.pgpPassphrase };
    else if (v.removePgp) req.pgpSigningKey = null;
    if (this.p12Base64) req.smimeSigningKeystore = { p12Base64: this.p12Base64, password: v.p12Password };
    else if (v.removeSmime) req.smimeSigningKeystore = null;
    return req;
  }

  save(): Promise<void> {
    return this.settings.save(
      () => this.api.put<EncryptionSettingsView>('/api/settings/encryption', this.toRequest()),
      (v) => {
        this.apply(v);
        this.p12Base64 = null;
        this.p12Name.set(null);
      },
      fieldOf,
    );
  }

  private apply(v: EncryptionSettingsView): void {
    this.form.setValue({
      policy: v.policy,
      preferred: v.preferred,
      sign: v.sign,
      protectedSubject: v.protectedSubject,
      pgpArmored: '',
      pgpPassphrase: '',
      removePgp: false,
      p12Password: '',
      removeSmime: false,
    });
  }
}
