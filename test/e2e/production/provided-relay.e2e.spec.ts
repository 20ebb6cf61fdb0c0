import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import PostalMime from 'postal-mime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, bearer, recording } from '../../support/api';
import { dumpDatabase } from '../../support/privacy';
import { createMysqlDatabase, databaseKinds, runServerExpectingExit, startServer, type RunningServer } from '../../support/server';
import { startTestSmtpServer, type TestSmtpServer } from '../../support/smtp';
import { createTestCa, testCaFile } from '../../support/tls';

const RELAY_USER = 'relay-user';
const RELAY_PASS = 'relay-Pass-7Hq2';
const OPERATOR_FROM = 'mail@mailpage.example';
const SELECTOR = 'mp2026';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PRIVATE_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const DKIM_TXT = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
const KEY_BODY = PRIVATE_PEM.split('\n')[1];

/** DNS as a recipient's server would see it: our selector's public key, nothing else. */
const resolver = async (name: string, type: string) => {
  if (type === 'TXT' && name === `${SELECTOR}._domainkey.mailpage.example`) return [[DKIM_TXT]];
  throw Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' });
};

// Set by whoever wires DkimSigner and ProvidedQuota into MailService (see the report); the verify path is wired here.

describe.each(databaseKinds())('the operator’s provided relay on %s', (kind) => {
  let relay: TestSmtpServer;
  let server: RunningServer;
  let api: ReturnType<typeof apiClient>;
  let dropDb: (() => Promise<void>) | undefined;
  let dbUrl: string | undefined;
  const responses: string[] = [];

  beforeAll(async () => {
    const ca = createTestCa();
    const dir = mkdtempSync(join(tmpdir(), 'mailpage-relay-'));
    writeFileSync(join(dir, 'dkim.pem'), PRIVATE_PEM, { mode: 0o600 });
    relay = await startTestSmtpServer({ tls: { key: ca.keyPem, cert: ca.certPem }, users: { [RELAY_USER]: RELAY_PASS } });
    if (kind === 'mysql') ({ url: dbUrl, drop: dropDb } = await createMysqlDatabase());
    server = await startServer({
      DATABASE_URL: dbUrl,
      NODE_EXTRA_CA_CERTS: testCaFile(ca),
      // The relay is on loopback, which customer hosts may not use: the operator's relay is exempt from that guard.
      SMTP_ALLOW_PRIVATE_HOSTS: 'false',
      PROVIDED_SMTP_URL: `smtp://${RELAY_USER}:${encodeURIComponent(RELAY_PASS)}@localhost:${relay.port}`,
      PROVIDED_FROM: OPERATOR_FROM,
      PROVIDED_DAILY_QUOTA: '3',
      DKIM_DOMAIN: 'mailpage.example',
      DKIM_SELECTOR: SELECTOR,
      DKIM_PRIVATE_KEY_FILE: join(dir, 'dkim.pem'),
    });
    api = recording(apiClient(server.url, bearer(server.localToken)), responses);
  });

  afterAll(async () => {
    await server?.stop();
    await relay?.close();
    await dropDb?.();
  });

  it('offers the relay to the site admin, with its From address and the daily quota', async () => {
    const r = await api.get('/api/settings/mail');
    expect(r.body.providedRelay).toEqual({ available: true, fromAddress: OPERATOR_FROM, dailyQuota: 3, usedToday: 0 });
  });

  it('sends a test mail from the operator’s domain, DKIM-signed, with the site’s name and a Reply-To of the site’s address', async () => {
    const put = await api.put('/api/settings/mail', { senderName: 'Docs team', senderAddress: 'docs@customer.example', subjectPrefix: '[Wiki]', server: { mode: 'provided' } });
    expect(put.status).toBe(200);
    expect(put.body.server).toEqual({ mode: 'provided' });
    const v = await api.post('/api/settings/mail/verify', { testRecipient: 'ann@example.org' });
    expect(v.status).toBe(200);
    expect(v.body).toMatchObject({ ok: true, steps: ['connect', 'tls', 'auth', 'test-mail'], message: 'Connected to the provided mail relay and sent a test mail.' });
    expect(v.text).not.toContain('localhost');

    const got = relay.mails.at(-1)!;
    expect(got.envelope).toEqual({ from: OPERATOR_FROM, to: ['ann@example.org'] });
    const parsed = await PostalMime.parse(got.raw);
    expect(parsed.from).toEqual({ name: 'Docs team', address: OPERATOR_FROM });
    expect(parsed.replyTo).toEqual([{ name: 'Docs team', address: 'docs@customer.example' }]);
    expect(parsed.messageId).toMatch(/@mailpage\.example>$/);
    expect(parsed.headers.find((h) => h.key === 'dkim-signature')?.value).toMatch(/d=mailpage\.example;.*s=mp2026;/s);

    const dkim = await dkimVerify(got.raw, { resolver });
    expect(dkim.results).toHaveLength(1);
    expect(dkim.results[0]).toMatchObject({ signingDomain: 'mailpage.example', selector: SELECTOR, status: { result: 'pass', aligned: 'mailpage.example' } });
    expect(dkim.headerFrom).toEqual([OPERATOR_FROM]);
  });

  it('sends a page through the relay the same way', async () => {
    const before = (await api.get('/api/settings/mail')).body.providedRelay.usedToday;
    const r = await api.post('/api/mail/send', { title: 'Relay page', html: '<p>Hello from the relay</p>', to: ['ann@example.org'], cc: ['bo@example.org'] });
    expect(r.status).toBe(200);
    const got = relay.mails.at(-1)!;
    expect(got.envelope).toEqual({ from: OPERATOR_FROM, to: ['ann@example.org', 'bo@example.org'] });
    const parsed = await PostalMime.parse(got.raw);
    expect(parsed.from).toEqual({ name: 'Docs team', address: OPERATOR_FROM });
    expect(parsed.replyTo).toEqual([{ name: 'Docs team', address: 'docs@customer.example' }]);
    expect((await dkimVerify(got.raw, { resolver })).results[0].status.result).toBe('pass');
    expect((await api.get('/api/settings/mail')).body.providedRelay.usedToday).toBe(before + 2);
  });

  it('refuses mail over the daily quota with 429 and a sentence', async () => {
    let status = 200;
    let last: { status: number; body: any } | undefined;
    for (let i = 0; i < 4 && status === 200; i++) {
      last = await api.post('/api/settings/mail/verify', { testRecipient: `quota${i}@example.org` });
      status = last.status;
    }
    expect(last!.status).toBe(429);
    expect(last!.body).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      message: "This site has reached today's limit of 3 recipients through the provided mail relay. Try again after midnight UTC, or set up your own mail server.",
      details: { limit: 3, used: 3 },
    });
    expect((await api.get('/api/settings/mail')).body.providedRelay.usedToday).toBe(3);
  });

  it('refuses a page over the quota with 429, and the same Idempotency-Key may be tried again tomorrow', async () => {
    const key = `quota-${Date.now()}`;
    const r = await api.post('/api/mail/send', { title: 'One too many', html: '<p>x</p>', to: ['ann@example.org'] }, { 'idempotency-key': key });
    expect(r.status).toBe(429);
    expect(r.body.code).toBe('QUOTA_EXCEEDED');
    // Nothing was sent, so the key was released: a retry is judged afresh (and refused again today).
    const again = await api.post('/api/mail/send', { title: 'One too many', html: '<p>x</p>', to: ['ann@example.org'] }, { 'idempotency-key': key });
    expect(again.body.code).toBe('QUOTA_EXCEEDED');
  });

  it('never shows the relay password or the DKIM key in a response, the database or the log at trace level', async () => {
    const dump = await dumpDatabase(dbUrl ? { type: 'mysql', url: dbUrl } : { type: 'sqlite', path: join(server.dataDir, 'mailpage.sqlite') });
    for (const secret of [RELAY_PASS, encodeURIComponent(RELAY_PASS), KEY_BODY]) {
      expect(responses.join('\n')).not.toContain(secret);
      expect(dump).not.toContain(secret);
      expect(server.output()).not.toContain(secret);
    }
  });
});

describe('starting with a broken relay configuration', () => {
  it('stops with every problem listed and without printing the relay password', async () => {
    const r = await runServerExpectingExit({
      PORT: '0',
      MAILPAGE_DATA_DIR: mkdtempSync(join(tmpdir(), 'mailpage-badrelay-')),
      PROVIDED_SMTP_URL: `smtp://${RELAY_USER}:${RELAY_PASS}@relay.example:587?tls=no`,
      DKIM_DOMAIN: 'other.example',
      DKIM_SELECTOR: SELECTOR,
      DKIM_PRIVATE_KEY: 'not-a-key',
    });
    expect(r.code).toBe(78);
    expect(r.output).toContain('PROVIDED_SMTP_URL: has an unknown option "tls"');
    expect(r.output).toContain('PROVIDED_FROM: required with PROVIDED_SMTP_URL');
    expect(r.output).toContain('DKIM_PRIVATE_KEY: is not a PEM private key');
    expect(r.output).not.toContain(RELAY_PASS);
  });
});
