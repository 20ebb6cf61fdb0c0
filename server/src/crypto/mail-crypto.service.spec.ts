import { X509Certificate } from 'node:crypto';
import PostalMime from 'postal-mime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Clock } from '../common/clock';
import { DomainError } from '../common/domain-error';
import { ComposeService } from '../compose/compose.service';
import { Gpg, generatePgpKey, pgpKey, smimeTestPki, type PgpTestKey, type SmimeTestPki, type SmimeTestUser } from '../../../test/support/crypto';
import { MailCryptoService, type ProtectOffload, type ProtectOptions } from './mail-crypto.service';

// Every message is checked by tools we did not write: gpg decrypts and verifies PGP/MIME, `openssl cms` decrypts
// and verifies S/MIME, postal-mime parses what comes out.

const HASH_NAMES: Record<string, string> = { '2': 'sha1', '8': 'sha256', '9': 'sha384', '10': 'sha512', '11': 'sha224' };
const SUBJECT = 'Quarterly numbers – geheim';
const compose = new ComposeService();
const service = new MailCryptoService(new Clock());

async function composed(): Promise<Buffer> {
  const mail = await compose.compose({
    title: SUBJECT,
    html: '<p>Revenue is up.</p><p>Trailing   spaces   and a lone dot:</p><pre>\n.\n</pre>',
    subjectPrefix: '',
    from: { name: 'Alice', address: 'alice@example.com' },
    to: [{ address: 'bob@example.com' }],
    cc: [{ address: 'carol@example.com' }],
    images: [],
    attachments: [{ filename: 'figures.csv', contentType: 'text/csv', content: Buffer.from('a,b\n1,2\n') }],
    messageIdDomain: 'example.com',
    maxBytes: 1024 * 1024,
  });
  return mail.raw;
}

const BASE = { envelopeFrom: 'alice@example.com', to: ['bob@example.com'], cc: ['carol@example.com'], bcc: [] as string[] };

function headerSection(raw: Buffer | string): string {
  const text = raw.toString();
  return text.slice(0, text.indexOf('\r\n\r\n'));
}

function outerSubject(raw: Buffer): string | undefined {
  return /^Subject: (.*)$/im.exec(headerSection(raw))?.[1];
}

async function rejection(p: Promise<unknown>): Promise<DomainError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(DomainError);
  return e as DomainError;
}

describe('PGP/MIME', () => {
  let raw: Buffer;
  let alice: PgpTestKey, bob: PgpTestKey, carol: PgpTestKey, dave: PgpTestKey, erin: PgpTestKey;
  const homes = new Map<string, Gpg>();

  /** A GnuPG home holding this person's secret key and Alice's public key. */
  function gpgOf(who: PgpTestKey): Gpg {
    let gpg = homes.get(who.email);
    if (!gpg) {
      gpg = new Gpg();
      gpg.importKey(who.unlockedPrivateKey);
      if (who !== alice) gpg.importKey(alice.publicKey);
      homes.set(who.email, gpg);
    }
    return gpg;
  }

  const keys = () => new Map([bob, carol, dave, erin].map((k) => [k.email, k.publicKey]));
  const signer = () => ({ method: 'pgp' as const, armoredKey: alice.privateKey, passphrase: alice.passphrase });

  beforeAll(async () => {
    [raw, alice, bob, carol, dave, erin] = await Promise.all([composed(), ...['alice', 'bob', 'carol', 'dave', 'erin'].map((n) => pgpKey(`${n}@example.com`))]);
  });
  afterAll(() => homes.forEach((g) => g.dispose()));

  it('encrypted and signed mail decrypts with gpg, the signature is good, and the real subject is only inside', async () => {
    const [mail] = await service.protect(raw, { ...BASE, method: 'pgp', encrypt: true, sign: true, recipientKeys: keys(), signer: signer() });
    expect(mail.envelope).toEqual({ from: 'alice@example.com', to: ['bob@example.com', 'carol@example.com'] });
    expect(outerSubject(mail.raw)).toBe('[...]');
    expect(mail.raw.toString()).not.toContain('Quarterly');
    expect(headerSection(mail.raw)).toMatch(/Content-Type: multipart\/encrypted; protocol="application\/pgp-encrypted"/);

    const result = gpgOf(bob).decrypt(mail.raw);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('[GNUPG:] GOODSIG');
    expect(result.stderr).toContain(`[GNUPG:] VALIDSIG ${alice.fingerprint}`);

    const inner = result.stdout;
    const innerHead = headerSection(inner);
    expect(innerHead).toMatch(/hp="cipher"; protected-headers="v1"/);
    expect(innerHead).toContain('HP-Outer: Subject: [...]');
    const parsed = await PostalMime.parse(inner);
    expect(parsed.subject).toBe(SUBJECT);
    expect(parsed.text).toContain(`Subject: ${SUBJECT}`);
    expect(parsed.html).toContain(`<div class="header-protection-legacy-display"><pre>Subject: ${SUBJECT}</pre></div>`);
    expect(parsed.attachments.map((a) => a.filename)).toEqual(['figures.csv']);
  });

  it('the cc recipient decrypts the same copy', async () => {
    const [mail] = await service.protect(raw, { ...BASE, method: 'pgp', encrypt: true, sign: false, recipientKeys: keys() });
    const result = gpgOf(carol).decrypt(mail.raw);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toContain('GOODSIG');
    expect((await PostalMime.parse(result.stdout)).subject).toBe(SUBJECT);
  });

  it('signed-only mail verifies with gpg over the byte-exact signed part, and keeps the subject readable', async () => {
    const mails = await service.protect(raw, { ...BASE, bcc: ['dave@example.com'], method: 'pgp', encrypt: false, sign: true, signer: signer() });
    expect(mails).toHaveLength(1);
    const [mail] = mails;
    expect(mail.envelope.to).toEqual(['bob@example.com', 'carol@example.com', 'dave@example.com']);
    expect(outerSubject(mail.raw)).toContain('Quarterly');
    const text = mail.raw.toString('latin1');
    const type = /Content-Type: multipart\/signed; micalg=(pgp-[a-z0-9]+);\r\n protocol="application\/pgp-signature";\r\n boundary="([^"]+)"/.exec(text);
    expect(type).not.toBeNull();
    const boundary = type![2];
    const body = text.slice(text.indexOf('\r\n\r\n') + 4);
    const parts = body.split(`--${boundary}`);
    // parts[0] is the (empty) preamble; the CRLF before each delimiter belongs to the delimiter.
    const signed = Buffer.from(parts[1].slice(2, -2), 'latin1');
    const signature = parts[2].slice(parts[2].indexOf('\r\n\r\n') + 4);
    expect(headerSection(signed)).toMatch(/hp="clear"; protected-headers="v1"/);
    expect(headerSection(signed)).not.toContain('HP-Outer');
    expect(headerSection(signed)).not.toMatch(/dave/);

    const gpg = gpgOf(bob);
    const good = gpg.verifyDetached(signature, signed);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stderr).toContain('[GNUPG:] GOODSIG');
    expect(good.stderr).toContain(`[GNUPG:] VALIDSIG ${alice.fingerprint}`);
    // VALIDSIG <fpr> <date> <timestamp> <expires> <version> <reserved> <pubkey-algo> <hash-algo> ...: micalg names that hash.
    const hashId = /\[GNUPG:\] VALIDSIG (.*)/.exec(good.stderr)![1].split(' ')[7];
    expect(type![1]).toBe(`pgp-${HASH_NAMES[hashId]}`);

    const tampered = Buffer.from(signed);
    tampered[tampered.length - 5] ^= 1;
    const bad = gpg.verifyDetached(signature, tampered);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('[GNUPG:] BADSIG');
  });

  it('gives each bcc recipient an own copy that only they can read, and names no bcc key in the to/cc copy', async () => {
    const mails = await service.protect(raw, { ...BASE, bcc: ['dave@example.com', 'erin@example.com'], method: 'pgp', encrypt: true, sign: true, recipientKeys: keys(), signer: signer() });
    expect(mails.map((m) => [m.copy, m.envelope.to])).toEqual([
      ['main', ['bob@example.com', 'carol@example.com']],
      ['bcc', ['dave@example.com']],
      ['bcc', ['erin@example.com']],
    ]);
    const [main, toDave, toErin] = mails;

    const keyIdsIn = (m: Buffer) => [...gpgOf(bob).listPackets(m).matchAll(/keyid ([0-9A-F]{16})/gi)].map((x) => x[1].toUpperCase());
    const subkey = (k: PgpTestKey) => k.keyIds[1];
    expect(keyIdsIn(main.raw).sort()).toEqual([subkey(bob), subkey(carol)].sort());
    expect(keyIdsIn(toDave.raw)).toEqual([subkey(dave)]);
    expect(keyIdsIn(toErin.raw)).toEqual([subkey(erin)]);

    const daveReads = gpgOf(dave).decrypt(toDave.raw);
    expect(daveReads.code, daveReads.stderr).toBe(0);
    expect(daveReads.stdout.toString()).not.toMatch(/erin|dave/i);
    expect(gpgOf(erin).decrypt(toErin.raw).code).toBe(0);
    for (const denied of [gpgOf(dave).decrypt(toErin.raw), gpgOf(erin).decrypt(toDave.raw), gpgOf(dave).decrypt(main.raw)]) {
      expect(denied.code).not.toBe(0);
      expect(denied.stderr).toContain('[GNUPG:] NO_SECKEY');
      expect(denied.stdout.length).toBe(0);
    }
    for (const m of mails) expect(m.raw.toString()).not.toMatch(/dave|erin/i);
  });

  it("adds the sender's own key to every copy when given", async () => {
    const mails = await service.protect(raw, { ...BASE, bcc: ['dave@example.com'], method: 'pgp', encrypt: true, sign: false, recipientKeys: keys(), senderKey: alice.publicKey });
    for (const m of mails) {
      const r = gpgOf(alice).decrypt(m.raw);
      expect(r.code, r.stderr).toBe(0);
    }
  });

  it('refuses to send when a recipient has no key, naming every such address', async () => {
    const e = await rejection(service.protect(raw, { ...BASE, bcc: ['zed@example.com'], method: 'pgp', encrypt: true, sign: false, recipientKeys: new Map([[bob.email, bob.publicKey]]) }));
    expect(e.code).toBe('RECIPIENT_KEY_MISSING');
    expect(e.status).toBe(422);
    expect(e.details).toEqual({ missing: ['carol@example.com', 'zed@example.com'] });
    expect(e.message).toContain('carol@example.com');
  });

  it('refuses at send time a key that has expired since its upload', async () => {
    const shortLived = await generatePgpKey('bob@example.com', { date: new Date(Date.now() - 3 * 86400_000), expiresInSeconds: 86400 });
    const e = await rejection(service.protect(raw, { ...BASE, cc: [], method: 'pgp', encrypt: true, sign: false, recipientKeys: new Map([[bob.email, shortLived.publicKey]]) }));
    expect(e.code).toBe('KEY_EXPIRED');
    expect(e.status).toBe(422);
    expect(e.message).toMatch(/^The OpenPGP key for bob@example.com expired on \d{4}-\d{2}-\d{2}/);
  });

  it('refuses to sign without a signing key, and with a wrong stored passphrase', async () => {
    const missing = await rejection(service.protect(raw, { ...BASE, method: 'pgp', encrypt: false, sign: true }));
    expect(missing.code).toBe('SIGNING_KEY_MISSING');
    const wrong = await rejection(service.protect(raw, { ...BASE, method: 'pgp', encrypt: false, sign: true, signer: { ...signer(), passphrase: 'nope' } }));
    expect(wrong.code).toBe('KEY_PASSWORD_WRONG');
    expect(wrong.status).toBe(422);
  });

  it('uses a configurable placeholder subject', async () => {
    const [mail] = await service.protect(raw, { ...BASE, method: 'pgp', encrypt: true, sign: false, recipientKeys: keys(), outerSubject: 'Verschlüsselte Nachricht' });
    const parsed = await PostalMime.parse(mail.raw);
    expect(parsed.subject).toBe('Verschlüsselte Nachricht');
    const inner = gpgOf(bob).decrypt(mail.raw).stdout.toString();
    expect(inner).toContain('HP-Outer: Subject: =?UTF-8?Q?Verschl=C3=BCsselte?= Nachricht');
  });
});

describe('S/MIME', () => {
  let raw: Buffer;
  let pki: SmimeTestPki;
  let alice: SmimeTestUser, bob: SmimeTestUser, carol: SmimeTestUser, dave: SmimeTestUser, erin: SmimeTestUser;

  const keys = () => new Map([bob, carol, dave, erin].map((u) => [u.email, u.certPem]));
  const signer = () => ({ method: 'smime' as const, p12: alice.p12, password: alice.p12Password });
  const decrypt = (user: SmimeTestUser, mail: Buffer) => pki.cms(['-decrypt', '-recip', user.certPath, '-inkey', user.keyPath], mail);
  const verify = (signed: Buffer) => pki.cms(['-verify', '-CAfile', pki.caPath], signed);

  beforeAll(async () => {
    raw = await composed();
    pki = smimeTestPki();
    [alice, bob, carol, dave, erin] = ['alice', 'bob', 'carol', 'dave', 'erin'].map((n) => pki.user(n));
  }, 60_000);
  afterAll(() => pki?.dispose());

  for (const oaep of [true, false]) {
    it(`encrypted mail decrypts with openssl cms (${oaep ? 'RSA-OAEP SHA-256' : 'RSA PKCS#1 v1.5'})`, async () => {
      const [mail] = await service.protect(raw, { ...BASE, method: 'smime', encrypt: true, sign: false, recipientKeys: keys(), smime: { oaep } });
      expect(headerSection(mail.raw)).toMatch(/Content-Type: application\/pkcs7-mime; smime-type=enveloped-data;/);
      expect(outerSubject(mail.raw)).toBe('[...]');
      const printed = pki.cms(['-cmsout', '-print'], mail.raw).stdout.toString();
      expect(printed).toContain(oaep ? 'rsaesOaep' : 'rsaEncryption');
      expect(printed).toContain('aes-256-cbc');
      for (const user of [bob, carol]) {
        const result = decrypt(user, mail.raw);
        expect(result.code, result.stderr).toBe(0);
        const parsed = await PostalMime.parse(result.stdout);
        expect(parsed.subject).toBe(SUBJECT);
        expect(headerSection(result.stdout)).toMatch(/hp="cipher"/);
      }
    });
  }

  it('AES-256-GCM AuthEnvelopedData decrypts with openssl cms', async () => {
    const [mail] = await service.protect(raw, { ...BASE, method: 'smime', encrypt: true, sign: false, recipientKeys: keys(), smime: { gcm: true } });
    expect(headerSection(mail.raw)).toContain('smime-type=authEnveloped-data');
    const result = decrypt(bob, mail.raw);
    expect(result.code, result.stderr).toBe(0);
    expect((await PostalMime.parse(result.stdout)).subject).toBe(SUBJECT);
  });

  it('signed mail verifies with openssl against the CA, and a changed byte breaks it', async () => {
    const [mail] = await service.protect(raw, { ...BASE, method: 'smime', encrypt: false, sign: true, signer: signer() });
    expect(headerSection(mail.raw)).toMatch(/multipart\/signed; protocol="application\/pkcs7-signature";\r\n micalg=sha-256/);
    const ok = verify(mail.raw);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain('Verification successful');
    expect(headerSection(ok.stdout)).toMatch(/hp="clear"/);
    expect((await PostalMime.parse(mail.raw)).subject).toBe(SUBJECT);

    const text = mail.raw.toString('latin1');
    const at = text.indexOf('Revenue is up');
    expect(at).toBeGreaterThan(0);
    const tampered = Buffer.from(text.slice(0, at) + 'Revenue is UP' + text.slice(at + 13), 'latin1');
    const bad = verify(tampered);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/digest failure|verification failure/i);
  });

  it('signed with a legacy keystore verifies too', async () => {
    const [mail] = await service.protect(raw, { ...BASE, method: 'smime', encrypt: false, sign: true, signer: { method: 'smime', p12: alice.legacyP12, password: alice.p12Password } });
    expect(verify(mail.raw).code).toBe(0);
  });

  it('signed and encrypted mail decrypts, and the inner signature verifies', async () => {
    const [mail] = await service.protect(raw, { ...BASE, method: 'smime', encrypt: true, sign: true, recipientKeys: keys(), signer: signer() });
    const decrypted = decrypt(bob, mail.raw);
    expect(decrypted.code, decrypted.stderr).toBe(0);
    expect(headerSection(decrypted.stdout)).toMatch(/multipart\/signed/);
    const verified = verify(decrypted.stdout);
    expect(verified.code, verified.stderr).toBe(0);
    expect(headerSection(verified.stdout)).toMatch(/hp="cipher"/);
    expect((await PostalMime.parse(verified.stdout)).subject).toBe(SUBJECT);
  });

  it('gives each bcc recipient an own copy, and lists no bcc certificate in the to/cc copy', async () => {
    const mails = await service.protect(raw, { ...BASE, bcc: ['dave@example.com', 'erin@example.com'], method: 'smime', encrypt: true, sign: true, recipientKeys: keys(), signer: signer() });
    expect(mails.map((m) => m.envelope.to)).toEqual([['bob@example.com', 'carol@example.com'], ['dave@example.com'], ['erin@example.com']]);
    const [main, toDave, toErin] = mails;
    const serials = (m: Buffer) => [...pki.cms(['-cmsout', '-print'], m).stdout.toString().matchAll(/serialNumber: (0x[0-9A-F]+|\d+)/gi)].map((x) => BigInt(x[1]));
    const serialOf = (u: SmimeTestUser) => BigInt(`0x${new X509Certificate(u.certPem).serialNumber}`);
    expect(serials(main.raw).sort()).toEqual([serialOf(bob), serialOf(carol)].sort());
    expect(serials(toDave.raw)).toEqual([serialOf(dave)]);
    expect(serials(toErin.raw)).toEqual([serialOf(erin)]);
    expect(decrypt(dave, toDave.raw).code).toBe(0);
    expect(decrypt(dave, toErin.raw).code).not.toBe(0);
    expect(decrypt(erin, toDave.raw).code).not.toBe(0);
    expect(decrypt(dave, main.raw).code).not.toBe(0);
  });

  it('refuses at send time a certificate that has expired', async () => {
    const old = pki.user('old-bob', { email: 'bob@example.com', expired: true });
    const e = await rejection(service.protect(raw, { ...BASE, cc: [], method: 'smime', encrypt: true, sign: false, recipientKeys: new Map([[bob.email, old.certPem]]) }));
    expect(e.code).toBe('KEY_EXPIRED');
    expect(e.message).toMatch(/^The S\/MIME certificate for bob@example.com expired on 2020-02-01/);
  });
});

describe('protect() options', () => {
  it('mail with bcc recipients only has no to/cc copy', async () => {
    const dave = await pgpKey('dave@example.com');
    const mails = await service.protect(await composed(), { ...BASE, to: [], cc: [], bcc: ['dave@example.com'], method: 'pgp', encrypt: true, sign: false, recipientKeys: new Map([[dave.email, dave.publicKey]]) });
    expect(mails.map((m) => [m.copy, m.envelope.to])).toEqual([['bcc', ['dave@example.com']]]);
  });

  it('hands the work to the worker pool when there is one, judging keys as of the clock of the service that sends', async () => {
    // Valid from three days ago for one day: usable two and a half days ago, expired now.
    const shortLived = await generatePgpKey('bob@example.com', { date: new Date(Date.now() - 3 * 86400_000), expiresInSeconds: 86400 });
    const then = new Date(Date.now() - 2.5 * 86400_000);
    const handed: Date[] = [];
    const pool: ProtectOffload = {
      enabled: true,
      // What a worker does (render.worker.ts): its own service, on the time the task came with.
      protect: (raw, options, now) => {
        handed.push(now);
        return new MailCryptoService({ now: () => now }).protectHere(raw, options);
      },
    };
    const options: ProtectOptions = { ...BASE, cc: [], method: 'pgp', encrypt: true, sign: false, recipientKeys: new Map([[shortLived.email, shortLived.publicKey]]) };
    const mails = await new MailCryptoService({ now: () => then }, pool).protect(await composed(), options);
    expect(handed).toEqual([then]);
    expect(mails.map((m) => m.envelope.to)).toEqual([['bob@example.com']]);
    expect(mails[0].raw.toString()).toContain('-----BEGIN PGP MESSAGE-----');
    expect((await rejection(service.protect(await composed(), options))).code).toBe('KEY_EXPIRED');
  });

  it('a bcc address that is also in to or cc gets the to/cc copy only', async () => {
    const bob = await pgpKey('bob@example.com');
    const mails = await service.protect(await composed(), { ...BASE, cc: [], bcc: ['BOB@example.com'], method: 'pgp', encrypt: true, sign: false, recipientKeys: new Map([[bob.email, bob.publicKey]]) } satisfies ProtectOptions);
    expect(mails.map((m) => m.envelope.to)).toEqual([['bob@example.com']]);
  });
});
