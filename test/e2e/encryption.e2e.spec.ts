import PostalMime from 'postal-mime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfluenceSandbox } from '../../server/src/local/sandbox/confluence-sandbox';
import { DEMO_APP_ID } from '../../server/src/local/sandbox/demo-site';
import { apiClient, bearer } from '../support/api';
import { Gpg, pgpKey, smimeTestPki, type PgpTestKey } from '../support/crypto';
import { dumpDatabase } from '../support/privacy';
import { createMysqlDatabase, databaseKinds, startServer, type RunningServer } from '../support/server';
import { startTestSmtpServer, type TestSmtpServer } from '../support/smtp';

const SUBJECT = 'Board minutes Ocelot-3318';
const BODY = 'Secret body Narwhal-7712';

describe.each(databaseKinds())('encrypted and signed page mail through the API, on %s', (kind) => {
  let smtp: TestSmtpServer;
  let server: RunningServer;
  let platform: ConfluenceSandbox;
  let dropDb: (() => Promise<void>) | undefined;
  let dbUrl: string | undefined;
  let admin: ReturnType<typeof apiClient>;
  let to: PgpTestKey, bcc1: PgpTestKey, bcc2: PgpTestKey, signer: PgpTestKey;
  const gpg: Record<string, Gpg> = {};

  beforeAll(async () => {
    [to, bcc1, bcc2, signer] = await Promise.all([pgpKey('ann@example.org'), pgpKey('bcc.one@example.org'), pgpKey('bcc.two@example.org'), pgpKey('wiki@example.com')]);
    for (const k of [to, bcc1, bcc2]) {
      gpg[k.email] = new Gpg();
      gpg[k.email].importKey(k.unlockedPrivateKey);
      gpg[k.email].importKey(signer.publicKey);
    }
    smtp = await startTestSmtpServer();
    platform = await new ConfluenceSandbox().start();
    if (kind === 'mysql') ({ url: dbUrl, drop: dropDb } = await createMysqlDatabase());
    server = await startServer({ DATABASE_URL: dbUrl, FORGE_JWKS_URL: `${platform.origin}/.well-known/jwks.json`, FORGE_APP_ID: DEMO_APP_ID });
    admin = apiClient(server.url, bearer(server.localToken));
    expect((await admin.put('/api/settings/mail', { senderName: 'Wiki', senderAddress: 'wiki@example.com', subjectPrefix: '[Wiki]', server: { mode: 'custom', host: '127.0.0.1', port: smtp.port, security: 'none' } })).status).toBe(200);
    for (const k of [to, bcc1, bcc2]) {
      const r = await admin.put('/api/settings/encryption/keys', { email: k.email, kind: 'pgp', key: k.publicKey });
      expect(r.status, r.text).toBe(200);
    }
  });
  afterAll(async () => {
    Object.values(gpg).forEach((g) => g.dispose());
    await server?.stop();
    await smtp?.close();
    await platform?.stop();
    await dropDb?.();
  });

  const send = (body: Record<string, unknown>) => admin.post('/api/mail/send', { title: SUBJECT, html: `<p>${BODY}</p>`, ...body });

  it('keeps the signing key and its passphrase write-only and sealed', async () => {
    const r = await admin.put('/api/settings/encryption', { policy: 'opportunistic', preferred: 'pgp', sign: true, protectedSubject: '[encrypted]', pgpSigningKey: { armored: signer.privateKey, passphrase: signer.passphrase } });
    expect(r.status, r.text).toBe(200);
    expect(r.body.pgpSigningKey).toMatchObject({ fingerprint: signer.fingerprint, passphraseSet: true });
    expect(r.text).not.toContain(signer.passphrase);
    expect(r.text).not.toContain('PRIVATE KEY');
    const dump = await dumpDatabase(kind === 'mysql' ? { type: 'mysql', url: dbUrl! } : { type: 'sqlite', path: `${server.dataDir}/mailpage.sqlite` });
    expect(dump).not.toContain(signer.passphrase);
    expect(dump).not.toContain('BEGIN PGP PRIVATE KEY');
  });

  it('sends a PGP-encrypted, signed mail that gpg decrypts and verifies, with the real subject inside', async () => {
    const before = smtp.mails.length;
    const r = await send({ to: [to.email], bcc: [bcc1.email, bcc2.email], encryption: 'pgp' });
    expect(r.status, r.text).toBe(200);
    expect(r.body.encryption).toBe('pgp');
    const mails = smtp.mails.slice(before);
    expect(mails.map((m) => m.envelope.to)).toEqual([[to.email], [bcc1.email], [bcc2.email]]);

    const main = mails[0];
    const outer = await PostalMime.parse(main.raw);
    expect(outer.subject).toBe('[encrypted]');
    expect(main.raw.toString()).not.toContain(BODY);
    expect(main.raw.toString()).toMatch(/multipart\/encrypted/);
    const armor = (m: { raw: Buffer }) => /-----BEGIN PGP MESSAGE-----[\s\S]*?-----END PGP MESSAGE-----/.exec(m.raw.toString())![0];
    const out = gpg[to.email].decrypt(armor(main));
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toMatch(/GOODSIG/);
    expect(out.stderr).toContain(`VALIDSIG ${signer.fingerprint}`);
    const inner = out.stdout.toString();
    expect(inner).toContain(`Subject: [Wiki] ${SUBJECT}`);
    expect(inner).toMatch(/hp="cipher"/);
    expect(inner).toContain('Narwhal');

    // The to/cc copy names no bcc key; each bcc opens only their own copy.
    const packets = gpg[to.email].listPackets(armor(main));
    for (const id of [...bcc1.keyIds, ...bcc2.keyIds]) expect(packets.toUpperCase()).not.toContain(id);
    expect(gpg[bcc1.email].decrypt(armor(mails[1])).code).toBe(0);
    expect(gpg[bcc2.email].decrypt(armor(mails[1])).code).not.toBe(0);
    expect(gpg[bcc2.email].decrypt(armor(mails[2])).code).toBe(0);
    expect(gpg[bcc1.email].decrypt(armor(mails[2])).code).not.toBe(0);
  });

  it('opportunistic: one recipient without a key means a signed, unencrypted mail', async () => {
    const before = smtp.mails.length;
    const r = await send({ to: [to.email, 'nokey@example.org'] });
    expect(r.status, r.text).toBe(200);
    expect(r.body.encryption).toBe('none');
    const raw = smtp.mails[before].raw.toString();
    expect(raw).toMatch(/multipart\/signed/);
    expect(raw).toContain('Narwhal');
  });

  it('an explicit choice of PGP with a recipient lacking a key is refused, naming them, and nothing is sent', async () => {
    const before = smtp.mails.length;
    const r = await send({ to: [to.email, 'nokey@example.org'], encryption: 'pgp' });
    expect(r.status).toBe(422);
    expect(r.body.code).toBe('RECIPIENT_KEY_MISSING');
    expect(r.body.message).toContain('nokey@example.org');
    expect(r.body.details.missing).toEqual(['nokey@example.org']);
    expect(smtp.mails.length).toBe(before);
  });

  it('required: a recipient without a key is refused even with automatic choice; preview says so and lists key status', async () => {
    expect((await admin.put('/api/settings/encryption', { policy: 'required', preferred: 'pgp', sign: false })).status).toBe(200);
    const before = smtp.mails.length;
    const r = await send({ to: [to.email], cc: ['nokey@example.org'] });
    expect(r.status).toBe(422);
    expect(r.body.message).toContain('nokey@example.org');
    expect(smtp.mails.length).toBe(before);
    const preview = await admin.post('/api/mail/preview', { title: SUBJECT, html: '<p>x</p>', to: [to.email], cc: ['nokey@example.org'] });
    expect(preview.status).toBe(200);
    expect(preview.body.keyStatus).toEqual([
      { address: to.email, pgp: true, smime: false },
      { address: 'nokey@example.org', pgp: false, smime: false },
    ]);
    expect(preview.body.encryptionProblem).toContain('nokey@example.org');
    const none = await send({ to: [to.email], encryption: 'none' });
    expect(none.status).toBe(422);
  });

  it('sends S/MIME mail that openssl cms decrypts', async () => {
    const pki = smimeTestPki();
    const user = pki.user('smime-reader', { email: 'reader@example.org' });
    expect((await admin.put('/api/settings/encryption/keys', { email: user.email, kind: 'smime', key: user.certPem })).status).toBe(200);
    expect((await admin.put('/api/settings/encryption', { policy: 'required', preferred: 'smime', sign: false })).status).toBe(200);
    const before = smtp.mails.length;
    const r = await send({ to: [user.email] });
    expect(r.status, r.text).toBe(200);
    expect(r.body.encryption).toBe('smime');
    const dec = pki.cms(['-decrypt', '-recip', user.certPath, '-inkey', user.keyPath], smtp.mails[before].raw);
    expect(dec.code, dec.stderr).toBe(0);
    expect(dec.stdout.toString()).toContain(`Subject: [Wiki] ${SUBJECT}`);
    expect(dec.stdout.toString()).toContain('Narwhal');
  });

  it('lets a user upload their own key for their Confluence address only, and refuses a bad key with a sentence', async () => {
    const alice = apiClient(server.url, () => platform.invocationHeaders('alice', { installationId: '0e0e0e0e-0000-4000-8000-0000000000e5' }));
    const wrong = await alice.put('/api/me/keys', { kind: 'pgp', key: to.publicKey });
    expect(wrong.status).toBe(400);
    expect(wrong.body.code).toBe('KEY_INVALID');
    const own = await pgpKey('alice@example.com');
    const ok = await alice.put('/api/me/keys', { kind: 'pgp', key: own.publicKey });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toMatchObject({ email: 'alice@example.com', pgp: { fingerprint: own.fingerprint } });
    const garbage = await alice.put('/api/me/keys', { kind: 'pgp', key: 'not a key' });
    expect(garbage.status).toBe(400);
    expect(garbage.body.message.length).toBeGreaterThan(10);
    expect((await alice.delete('/api/me/keys?kind=pgp')).body.pgp).toBeNull();
  });
});
