import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Clock } from '../common/clock';
import { DomainError } from '../common/domain-error';
import { generatePgpKey, pgpKey, smimeTestPki, type PgpTestKey, type SmimeTestPki } from '../../../test/support/crypto';
import { MailCryptoService } from './mail-crypto.service';
import * as pgp from './pgp';
import { RecipientKeyCache } from './recipient-keys';
import * as smime from './smime';

const DAY = 86_400_000;

class TestClock extends Clock {
  constructor(public time: Date) {
    super();
  }
  override now(): Date {
    return new Date(this.time);
  }
}

async function rejection(p: Promise<unknown>): Promise<DomainError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(DomainError);
  return e as DomainError;
}

/** What the send-time check says about a freshly parsed key: the refusal a cached key must give too. */
async function freshPgpRefusal(stored: string, address: string, now: Date): Promise<DomainError> {
  return rejection(pgp.readStoredPublicKey(stored).then((key) => pgp.checkRecipientKey(key, address, now)));
}

describe('RecipientKeyCache, OpenPGP', () => {
  let bob: PgpTestKey, carol: PgpTestKey, shortLived: PgpTestKey;
  const start = new Date();
  const expiry = new Date(start.getTime() + DAY);

  beforeAll(async () => {
    [bob, carol, shortLived] = await Promise.all([
      pgpKey('bob@example.com'),
      pgpKey('carol@example.com'),
      // Created yesterday, valid for two days: usable now, expired the day after tomorrow.
      generatePgpKey('dave@example.com', { date: new Date(start.getTime() - DAY), expiresInSeconds: 2 * 86_400 }),
    ]);
  });

  it('returns the same checked key for the same stored text, also to concurrent callers', async () => {
    const cache = new RecipientKeyCache();
    const [a, b] = await Promise.all([cache.get('pgp', bob.publicKey, bob.email, start), cache.get('pgp', bob.publicKey, bob.email, start)]);
    const c = await cache.get('pgp', bob.publicKey, 'BOB@example.com', new Date(start.getTime() + 60_000));
    expect(a.kind).toBe('pgp');
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(a.id).toBe(bob.fingerprint.toLowerCase());
    expect(cache.size).toBe(1);
  });

  it('parses again when the stored text changes, and keeps methods apart', async () => {
    const cache = new RecipientKeyCache();
    const first = await cache.get('pgp', bob.publicKey, bob.email, start);
    // The same key stored again in other text (re-exported with a comment): another entry, parsed anew.
    const reexported = bob.publicKey.replace('\n\n', '\nComment: re-exported\n\n');
    expect(reexported).not.toBe(bob.publicKey);
    const again = await cache.get('pgp', reexported, bob.email, start);
    expect(again).not.toBe(first);
    expect(again.id).toBe(first.id);
    const other = await cache.get('pgp', carol.publicKey, carol.email, start);
    expect(other.id).not.toBe(first.id);
    expect(cache.size).toBe(3);
  });

  it('refuses a kept key once it has expired, naming the address it is used for, as a fresh parse would', async () => {
    const cache = new RecipientKeyCache();
    const kept = await cache.get('pgp', shortLived.publicKey, 'dave@example.com', start);
    const later = new Date(expiry.getTime() + DAY);
    for (const address of ['dave@example.com', 'd.ave@example.com']) {
      const e = await rejection(cache.get('pgp', shortLived.publicKey, address, later));
      const fresh = await freshPgpRefusal(shortLived.publicKey, address, later);
      expect(e.code).toBe('KEY_EXPIRED');
      expect(e.status).toBe(422);
      expect(e.message).toBe(fresh.message);
      expect(e.message).toMatch(new RegExp(`^The OpenPGP key for ${address.replace('.', '\\.')} expired on \\d{4}-\\d{2}-\\d{2}`));
    }
    // The refusal comes from the kept key, which stays kept (and usable at a time before its expiry).
    expect(cache.size).toBe(1);
    expect(await cache.get('pgp', shortLived.publicKey, 'dave@example.com', start)).toBe(kept);
  });

  it('keeps nothing for stored text that does not parse, and says so every time', async () => {
    const cache = new RecipientKeyCache();
    for (let i = 0; i < 2; i++) await expect(cache.get('pgp', 'not a key', bob.email, start)).rejects.toThrow();
    await expect(cache.get('smime', bob.publicKey, bob.email, start)).rejects.toThrow(/not PEM/);
    expect(cache.size).toBe(0);
  });

  it('forgets keys after the time to live, and keeps at most `max`', async () => {
    const short = new RecipientKeyCache({ ttlMs: 1 });
    const first = await short.get('pgp', bob.publicKey, bob.email, start);
    await new Promise((r) => setTimeout(r, 20));
    expect(await short.get('pgp', bob.publicKey, bob.email, start)).not.toBe(first);

    const small = new RecipientKeyCache({ max: 1 });
    await small.get('pgp', bob.publicKey, bob.email, start);
    await small.get('pgp', carol.publicKey, carol.email, start);
    expect(small.size).toBe(1);
  });

  it('MailCryptoService: a key that expires between two sends is refused at the second (injected clock)', async () => {
    const clock = new TestClock(start);
    const service = new MailCryptoService(clock);
    const raw = Buffer.from('From: a@example.com\r\nTo: dave@example.com\r\nSubject: Hi\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nHello\r\n');
    const options = { method: 'pgp' as const, encrypt: true, sign: false, envelopeFrom: 'a@example.com', to: ['dave@example.com'], cc: [], bcc: [], recipientKeys: new Map([['dave@example.com', shortLived.publicKey]]) };
    expect(await service.protect(raw, options)).toHaveLength(1);
    clock.time = new Date(expiry.getTime() + DAY);
    const e = await rejection(service.protect(raw, options));
    expect(e.code).toBe('KEY_EXPIRED');
    expect(e.status).toBe(422);
    expect(e.message).toBe((await freshPgpRefusal(shortLived.publicKey, 'dave@example.com', clock.time)).message);
  });
});

describe('RecipientKeyCache, S/MIME', () => {
  let pki: SmimeTestPki;
  beforeAll(() => {
    pki = smimeTestPki();
  });
  afterAll(() => pki.dispose());

  it('returns the same certificate for the same PEM, and checks its dates at every use', async () => {
    const bob = pki.user('bob');
    const cache = new RecipientKeyCache();
    const { notBefore, notAfter } = smime.readStoredCertificate(bob.certPem).info;
    const during = new Date(notBefore.getTime() + 1000);
    const first = await cache.get('smime', bob.certPem, bob.email, during);
    expect(first.kind).toBe('smime');
    expect(await cache.get('smime', bob.certPem, bob.email, during)).toBe(first);

    const expired = await rejection(cache.get('smime', bob.certPem, 'b.ob@example.com', new Date(notAfter.getTime() + DAY)));
    expect(expired.code).toBe('KEY_EXPIRED');
    expect(expired.message).toMatch(/^The S\/MIME certificate for b\.ob@example\.com expired on/);
    const early = await rejection(cache.get('smime', bob.certPem, bob.email, new Date(notBefore.getTime() - DAY)));
    expect(early.code).toBe('KEY_INVALID');
    expect(early.message).toMatch(/is not valid before/);
    expect(cache.size).toBe(1);
  });
});
