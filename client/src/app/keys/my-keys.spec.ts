import { TestBed, type ComponentFixture } from '@angular/core/testing';
import type { MyKeysView } from '@mailpage/contract';
import { beforeEach, describe, expect, it } from 'vitest';
import { FakeApi, fakeProviders, settle, texts, type } from '../../testing/fakes';
import { MyKeys } from './my-keys';

const NONE: MyKeysView = { email: 'alice@example.com', pgp: null, smime: null };
const PGP = { kind: 'pgp' as const, fingerprint: 'ABCDEF0123456789ABCDEF0123456789ABCDEF01', emails: ['alice@example.com'], algorithm: 'ed25519', bits: null, createdAt: null, expiresAt: '2030-01-01T00:00:00.000Z', uploadedAt: '2026-11-20T10:00:00.000Z' };

describe('my keys', () => {
  let api: FakeApi;
  let fixture: ComponentFixture<MyKeys>;
  const el = () => fixture.nativeElement as HTMLElement;

  async function render() {
    TestBed.configureTestingModule({ imports: [MyKeys], providers: fakeProviders(api) });
    fixture = TestBed.createComponent(MyKeys);
    await fixture.whenStable();
    await settle();
    await fixture.whenStable();
  }

  beforeEach(() => {
    api = new FakeApi().on('GET', '/api/me/keys', NONE);
  });

  it('says what to do when no key is there, uploads a pasted key and shows its fingerprint', async () => {
    api.on('PUT', '/api/me/keys', { ...NONE, pgp: PGP });
    await render();
    expect(el().textContent).toContain('No PGP public key yet.');
    const text = el().querySelector<HTMLTextAreaElement>('textarea')!;
    type(text, '-----BEGIN PGP PUBLIC KEY BLOCK-----\nabc\n-----END PGP PUBLIC KEY BLOCK-----');
    el().querySelector<HTMLButtonElement>('section button[type="submit"]')!.click();
    await settle();
    await fixture.whenStable();
    expect(api.callsTo('PUT', '/api/me/keys')[0].body).toEqual({ kind: 'pgp', key: '-----BEGIN PGP PUBLIC KEY BLOCK-----\nabc\n-----END PGP PUBLIC KEY BLOCK-----' });
    expect(texts(el(), '[data-fingerprint]')).toEqual(['ABCD EF01 2345 6789 ABCD EF01 2345 6789 ABCD EF01']);
    expect(el().textContent).toContain('Your PGP public key was saved.');
  });

  it("shows the service's reason next to the key and keeps the pasted text", async () => {
    api.fail('PUT', '/api/me/keys', 'KEY_INVALID', 'This is not a PGP public key: it is a private key. Export the public key with gpg --export --armor.');
    await render();
    const text = el().querySelector<HTMLTextAreaElement>('textarea')!;
    type(text, '-----BEGIN PGP PRIVATE KEY BLOCK-----');
    el().querySelector<HTMLButtonElement>('section button[type="submit"]')!.click();
    await settle();
    await fixture.whenStable();
    expect(texts(el(), 'section .field-error')).toEqual(['This is not a PGP public key: it is a private key. Export the public key with gpg --export --armor.']);
    expect(el().querySelector<HTMLTextAreaElement>('textarea')!.value).toBe('-----BEGIN PGP PRIVATE KEY BLOCK-----');
  });

  it('removes a key after confirmation', async () => {
    api.on('GET', '/api/me/keys', { ...NONE, pgp: PGP });
    api.on('DELETE', '/api/me/keys', NONE);
    await render();
    const remove = [...el().querySelectorAll<HTMLButtonElement>('button')].find((b) => b.textContent?.includes('Remove PGP public key'))!;
    remove.click();
    await fixture.whenStable();
    [...el().querySelectorAll<HTMLButtonElement>('button')].find((b) => b.textContent?.includes('Yes, remove it'))!.click();
    await settle();
    await fixture.whenStable();
    expect(api.callsTo('DELETE', '/api/me/keys')[0].path).toBe('/api/me/keys?kind=pgp');
    expect(el().textContent).toContain('No PGP public key yet.');
  });
});
