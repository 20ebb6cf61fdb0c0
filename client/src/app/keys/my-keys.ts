import { ChangeDetectionStrategy, Component, OnInit, inject, input, signal } from '@angular/core';
import { FormBuilder, ReactiveFormsModule } from '@angular/forms';
import type { ApiError, KeyKind, MyKeysView, PublicKeyView, PutKeyRequest } from '@mailpage/contract';
import { ApiClient, asApiError } from '../core/api';
import { formatDate, formatDateTime, formatFingerprint, readFileAsBase64, uniqueId } from '../shared/format';

interface KindInfo {
  kind: KeyKind;
  title: string;
  what: string;
  paste: string;
  accept: string;
}

const KINDS: KindInfo[] = [
  { kind: 'pgp', title: 'PGP public key', what: 'a PGP public key', paste: 'Paste your armored public key (it starts with -----BEGIN PGP PUBLIC KEY BLOCK-----), or choose the .asc file.', accept: '.asc,.gpg,.pgp,.txt,.key' },
  { kind: 'smime', title: 'S/MIME certificate', what: 'an S/MIME certificate', paste: 'Paste your certificate in PEM form (-----BEGIN CERTIFICATE-----), or choose the .pem, .crt or .cer file.', accept: '.pem,.crt,.cer,.der' },
];

/** The user's own public PGP key and S/MIME certificate, so that mail to them can be encrypted. Public parts only. */
@Component({
  selector: 'mp-my-keys',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [ReactiveFormsModule],
  styles: `
    .kinds {
      display: grid;
      gap: var(--ds-space-200, 16px);
    }
  `,
  template: `
    @if (standalone()) {
      <h1>My encryption keys</h1>
    }
    <p class="lead">
      When you add your public key or certificate, mail sent to you with Mailpage can be encrypted so that only you can read it.
      @if (view()?.email; as email) {
        Mail to <strong>{{ email }}</strong> uses them.
      }
    </p>
    @if (loadError(); as e) {
      <div class="banner banner-error" role="alert">
        <strong>Your keys could not be loaded.</strong>
        <p>{{ e.message }}</p>
        <button type="button" class="btn" (click)="load()">Try again</button>
      </div>
    } @else if (!view()) {
      <p class="hint" aria-live="polite">Loading your keys…</p>
    } @else {
      <div class="kinds">
        @for (k of kinds; track k.kind) {
          <section class="section" [attr.aria-labelledby]="id + '-' + k.kind + '-title'">
            <h2 [id]="id + '-' + k.kind + '-title'">{{ k.title }}</h2>
            @if (keyOf(k.kind); as key) {
              <dl class="facts">
                <dt>Fingerprint</dt>
                <dd class="mono" data-fingerprint>{{ fingerprint(key.fingerprint) }}</dd>
                <dt>Addresses</dt>
                <dd>{{ key.emails.length ? key.emails.join(', ') : 'none named' }}</dd>
                <dt>Algorithm</dt>
                <dd>{{ key.algorithm }}{{ key.bits ? ' ' + key.bits + ' bits' : '' }}</dd>
                <dt>Expires</dt>
                <dd>{{ expiry(key) }}</dd>
                <dt>Added</dt>
                <dd>{{ dateTime(key.uploadedAt) }}</dd>
              </dl>
            } @else {
              <div class="empty">
                <strong>No {{ k.title }} yet.</strong>
                Add {{ k.what }} below so that mail to you can be encrypted.
              </div>
            }

            <form class="stack" [formGroup]="form" (ngSubmit)="save(k)">
              <div class="field">
                <label [for]="id + '-' + k.kind + '-text'">{{ keyOf(k.kind) ? 'Replace with' : 'Add' }} {{ k.what }}</label>
                <textarea
                  [id]="id + '-' + k.kind + '-text'"
                  [formControlName]="k.kind"
                  rows="5"
                  [attr.aria-describedby]="id + '-' + k.kind + '-help' + (errors()[k.kind] ? ' ' + id + '-' + k.kind + '-error' : '')"
                  [attr.aria-invalid]="!!errors()[k.kind] || null"
                ></textarea>
                <p class="hint" [id]="id + '-' + k.kind + '-help'">{{ k.paste }}</p>
                @if (errors()[k.kind]; as e) {
                  <p class="field-error" role="alert" [id]="id + '-' + k.kind + '-error'">{{ e }}</p>
                }
              </div>
              <div class="field">
                <label [for]="id + '-' + k.kind + '-file'">Or choose a file</label>
                <input type="file" [id]="id + '-' + k.kind + '-file'" [accept]="k.accept" (change)="pick(k.kind, $any($event.target))" />
              </div>
              <div class="actions">
                <button type="submit" class="btn btn-primary" [disabled]="busy() === k.kind">{{ busy() === k.kind ? 'Saving…' : 'Save ' + k.title }}</button>
                @if (keyOf(k.kind)) {
                  @if (confirming() === k.kind) {
                    <button type="button" class="btn btn-danger" [disabled]="busy() === k.kind" (click)="remove(k)">Yes, remove it</button>
                    <button type="button" class="btn btn-subtle" (click)="confirming.set(null)">Keep it</button>
                  } @else {
                    <button type="button" class="btn" (click)="confirming.set(k.kind)">Remove {{ k.title }}…</button>
                  }
                }
              </div>
            </form>
          </section>
        }
      </div>
    }
    <div aria-live="polite">
      @if (announcement()) {
        <p class="banner banner-success">{{ announcement() }}</p>
      }
    </div>
  `,
})
export class MyKeys implements OnInit {
  /** On its own page (route /keys) it has its own heading; as a tab of the send dialog it does not. */
  readonly standalone = input(true);

  readonly kinds = KINDS;
  readonly id = uniqueId('keys');
  readonly view = signal<MyKeysView | null>(null);
  readonly loadError = signal<ApiError | null>(null);
  readonly errors = signal<Partial<Record<KeyKind, string>>>({});
  readonly busy = signal<KeyKind | null>(null);
  readonly confirming = signal<KeyKind | null>(null);
  readonly announcement = signal('');

  private readonly api = inject(ApiClient);
  readonly form = inject(FormBuilder).nonNullable.group({ pgp: '', smime: '' });

  ngOnInit(): void {
    void this.load();
  }

  async load(): Promise<void> {
    this.loadError.set(null);
    try {
      this.view.set(await this.api.get<MyKeysView>('/api/me/keys'));
    } catch (e) {
      this.loadError.set(asApiError(e));
    }
  }

  keyOf(kind: KeyKind): PublicKeyView | null {
    return this.view()?.[kind] ?? null;
  }

  fingerprint(fp: string): string {
    return formatFingerprint(fp);
  }

  dateTime(iso: string): string {
    return formatDateTime(iso);
  }

  expiry(k: PublicKeyView): string {
    if (!k.expiresAt) return 'never';
    const expired = new Date(k.expiresAt).getTime() < Date.now();
    return expired ? `${formatDate(k.expiresAt)} (expired: mail to you cannot be encrypted with it)` : formatDate(k.expiresAt);
  }

  async pick(kind: KeyKind, el: HTMLInputElement): Promise<void> {
    const file = el.files?.[0];
    if (!file) return;
    const text = await file.text();
    // A binary (DER) certificate is sent as base64; text files as they are.
    const value = /^-----BEGIN /m.test(text) || kind === 'pgp' ? text : await readFileAsBase64(file);
    this.form.controls[kind].setValue(value.trim());
    this.errors.update((e) => ({ ...e, [kind]: undefined }));
  }

  async save(k: KindInfo): Promise<void> {
    const key = this.form.controls[k.kind].getRawValue().trim();
    if (!key) {
      this.errors.update((e) => ({ ...e, [k.kind]: `Paste ${k.what} or choose a file first.` }));
      return;
    }
    this.busy.set(k.kind);
    this.errors.update((e) => ({ ...e, [k.kind]: undefined }));
    try {
      const body: PutKeyRequest = { kind: k.kind, key };
      const view = await this.api.put<MyKeysView>('/api/me/keys', body);
      this.view.set(view);
      this.form.controls[k.kind].setValue('');
      this.announcement.set(`Your ${k.title} was saved.`);
    } catch (e) {
      this.errors.update((x) => ({ ...x, [k.kind]: asApiError(e).message }));
    } finally {
      this.busy.set(null);
    }
  }

  async remove(k: KindInfo): Promise<void> {
    this.busy.set(k.kind);
    try {
      const view = await this.api.delete<MyKeysView | undefined>('/api/me/keys', { kind: k.kind });
      this.view.update((v) => view ?? (v ? { ...v, [k.kind]: null } : v));
      this.announcement.set(`Your ${k.title} was removed.`);
    } catch (e) {
      this.errors.update((x) => ({ ...x, [k.kind]: asApiError(e).message }));
    } finally {
      this.busy.set(null);
      this.confirming.set(null);
    }
  }
}
