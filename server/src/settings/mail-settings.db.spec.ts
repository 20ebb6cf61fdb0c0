import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, insertTenant, TestClock, type TestDatabase } from '../../../test/support/database';
import { createTestCa } from '../../../test/support/tls';
import { databaseKinds } from '../../../test/support/server';
import { mailSettingsInputSchema } from '@mailpage/contract';
import type { AppConfig } from '../config/app-config';
import type { Clock } from '../common/clock';
import { MailSettingsEntity } from '../database/entities';
import { OAuth2Tokens } from '../mail/smtp/oauth2-tokens';
import { SecretBox } from '../secrets/secret-box';
import { MailSettingsService } from './mail-settings.service';
import { ProvidedQuota } from './provided-quota.service';

const RELAY = { host: 'relay.internal', port: 587, security: 'starttls' as const, auth: { user: 'relay-user', pass: 'relay-pass-77' }, from: 'mail@mailpage.example', dailyQuota: 500 };
const MS = { tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', clientId: 'b3c4d5e6-0000-4000-8000-000000000001' };
const SA_KEY = JSON.stringify({
  type: 'service_account',
  private_key_id: 'kid-1',
  private_key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
  client_email: 'mailer@project-x.iam.gserviceaccount.com',
});

/** The service as the app builds it, with the operator's relay configured or not. */
function makeService(ds: TestDatabase['ds'], opts: { provided?: boolean; dkim?: boolean; clock?: TestClock } = {}) {
  const config = {
    secretKeys: [{ id: 'k1', key: randomBytes(32) }],
    provided: opts.provided === false ? null : RELAY,
    dkim: opts.dkim ? { domain: 'mailpage.example', selector: 's1', privateKey: null } : null,
    oauth2: { microsoftAuthorityHost: 'http://127.0.0.1:9', googleTokenUrl: 'http://127.0.0.1:9/token' },
    smtp: { connectionTimeoutMs: 1000 },
  } as unknown as AppConfig;
  const box = new SecretBox(config);
  const clock = (opts.clock ?? new TestClock()) as unknown as Clock;
  return { box, service: new MailSettingsService(ds, box, clock, config, new OAuth2Tokens(config, box), new ProvidedQuota(ds, config, clock)) };
}

const input = (over: Record<string, unknown> = {}) =>
  mailSettingsInputSchema.parse({
    senderName: 'Docs',
    senderAddress: 'docs@example.com',
    subjectPrefix: '[Wiki]',
    server: { mode: 'custom', host: 'smtp.example.com', port: 587, security: 'starttls', auth: { type: 'password', username: 'u1', password: 'pw-Secret-123' }, ...over },
  });

describe.each(databaseKinds())('mail settings on %s', (kind) => {
  let db: TestDatabase;
  let service: MailSettingsService;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    await insertTenant(db.ds, 'tenant-a');
    await insertTenant(db.ds, 'tenant-b');
    service = makeService(db.ds).service;
  });
  afterAll(async () => db?.close());

  it('stores the password sealed, never as written, and answers only passwordSet', async () => {
    const view = await service.save('tenant-a', input());
    expect(view.server).toMatchObject({ mode: 'custom', auth: { type: 'password', username: 'u1', passwordSet: true } });
    expect(JSON.stringify(view)).not.toContain('pw-Secret-123');
    const row = await db.ds.getRepository(MailSettingsEntity).findOneByOrFail({ tenantId: 'tenant-a' });
    expect(row.passwordSealed).toMatch(/^mp1\.k1\./);
    expect(row.passwordSealed).not.toContain('pw-Secret-123');
    expect((await service.resolve('tenant-a')).target.auth).toEqual({ user: 'u1', pass: 'pw-Secret-123' });
  });

  it('keeps the password for the same host and user, and drops it when the host or user changes', async () => {
    await service.save('tenant-a', input());
    expect((await service.save('tenant-a', input({ auth: { type: 'password', username: 'u1' } }))).server).toMatchObject({ auth: { passwordSet: true } });
    expect((await service.save('tenant-a', input({ host: 'other.example.com', auth: { type: 'password', username: 'u1' } }))).server).toMatchObject({ auth: { passwordSet: false } });
    await service.save('tenant-a', input());
    expect((await service.save('tenant-a', input({ auth: { type: 'password', username: 'u2' } }))).server).toMatchObject({ auth: { passwordSet: false } });
    await service.save('tenant-a', input());
    expect((await service.save('tenant-a', input({ auth: { type: 'password', username: 'u1', password: null } }))).server).toMatchObject({ auth: { passwordSet: false } });
  });

  it('keeps each tenant’s settings apart', async () => {
    await service.save('tenant-a', input());
    expect((await service.view('tenant-b')).configured).toBe(false);
    await expect(service.resolve('tenant-b')).rejects.toMatchObject({ code: 'MAIL_NOT_CONFIGURED' });
    // A sealed password copied into another tenant's row does not open there.
    const a = await db.ds.getRepository(MailSettingsEntity).findOneByOrFail({ tenantId: 'tenant-a' });
    await db.ds.getRepository(MailSettingsEntity).save({ ...a, tenantId: 'tenant-b' });
    await expect(service.resolve('tenant-b')).rejects.toThrow();
  });
});

const oauth = (auth: Record<string, unknown>, over: Record<string, unknown> = {}) =>
  mailSettingsInputSchema.parse({
    senderName: 'Docs',
    senderAddress: 'docs@contoso.example',
    server: { mode: 'custom', host: 'smtp.office365.com', port: 587, security: 'starttls', auth, ...over },
  });

describe.each(databaseKinds())('provided relay and OAuth2 settings on %s', (kind) => {
  let db: TestDatabase;
  let service: MailSettingsService;
  let box: SecretBox;
  const row = () => db.ds.getRepository(MailSettingsEntity).findOneByOrFail({ tenantId: 'tenant-a' });
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    await insertTenant(db.ds, 'tenant-a');
    ({ service, box } = makeService(db.ds, { dkim: true }));
  });
  afterAll(async () => db?.close());

  it('sends relayed mail from the operator’s address with the site’s name, replies going to the site', async () => {
    const view = await service.save('tenant-a', mailSettingsInputSchema.parse({ senderName: 'Docs team', senderAddress: 'docs@customer.example', server: { mode: 'provided' } }));
    expect(view.server).toEqual({ mode: 'provided' });
    expect(view.providedRelay).toEqual({ available: true, fromAddress: 'mail@mailpage.example', dailyQuota: 500, usedToday: 0 });
    expect(JSON.stringify(view)).not.toContain('relay-pass-77');
    const r = await service.resolve('tenant-a');
    expect(r).toMatchObject({
      relay: 'provided',
      from: { name: 'Docs team', address: 'mail@mailpage.example' },
      replyTo: { name: 'Docs team', address: 'docs@customer.example' },
      envelopeFrom: 'mail@mailpage.example',
      messageIdDomain: 'mailpage.example',
      dkimSign: true,
      target: { key: 'provided-relay', host: 'relay.internal', port: 587, security: 'starttls', auth: { user: 'relay-user', pass: 'relay-pass-77' }, operatorRelay: true },
    });
  });

  it('keeps the custom server’s own From, with no Reply-To and no DKIM by this service', async () => {
    await service.save('tenant-a', input());
    expect(await service.resolve('tenant-a')).toMatchObject({ relay: 'custom', from: { name: 'Docs', address: 'docs@example.com' }, replyTo: null, envelopeFrom: 'docs@example.com', messageIdDomain: 'example.com', dkimSign: false });
  });

  it('refuses the provided relay when the operator offers none, and says so', async () => {
    const { service: plain } = makeService(db.ds, { provided: false });
    await expect(plain.save('tenant-a', mailSettingsInputSchema.parse({ senderAddress: 'docs@customer.example', server: { mode: 'provided' } }))).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      status: 400,
      message: "This service's operator does not offer a provided mail relay; set up your own mail server (server.mode \"custom\").",
    });
    expect((await plain.view('tenant-a')).providedRelay).toEqual({ available: false, fromAddress: null, dailyQuota: null, usedToday: null });
    // Saved while the relay was offered, then the operator removed it.
    await service.save('tenant-a', mailSettingsInputSchema.parse({ senderAddress: 'docs@customer.example', server: { mode: 'provided' } }));
    await expect(plain.resolve('tenant-a')).rejects.toMatchObject({ code: 'MAIL_NOT_CONFIGURED', status: 409 });
  });

  it('stores a Microsoft 365 client secret sealed and write-only', async () => {
    const view = await service.save('tenant-a', oauth({ type: 'oauth2', provider: 'microsoft', ...MS, clientSecret: 'ms-Secret-abc', user: 'bot@contoso.example' }));
    expect(view.server).toEqual({
      mode: 'custom',
      host: 'smtp.office365.com',
      port: 587,
      security: 'starttls',
      auth: { type: 'oauth2', provider: 'microsoft', tenantId: MS.tenantId, clientId: MS.clientId, user: 'bot@contoso.example', clientSecretSet: true },
      tlsCaSet: false,
      tlsCaSubject: null,
      tlsCaExpiresAt: null,
    });
    const e = await row();
    expect(e.oauth2ClientSecretSealed).toMatch(/^mp1\.k1\./);
    expect(JSON.stringify(e)).not.toContain('ms-Secret-abc');
    expect(box.open(e.oauth2ClientSecretSealed!, 'tenant-a', 'smtp.oauth2.clientSecret')).toBe('ms-Secret-abc');
    const r = await service.resolve('tenant-a');
    expect(r.target.auth).toMatchObject({ type: 'oauth2', user: 'bot@contoso.example' });
    expect(JSON.stringify(r.target)).not.toContain('ms-Secret-abc');
  });

  it('keeps an OAuth2 secret only for the same host and identity', async () => {
    const ms = (over: Record<string, unknown> = {}, server: Record<string, unknown> = {}) =>
      oauth({ type: 'oauth2', provider: 'microsoft', ...MS, user: 'bot@contoso.example', ...over }, server);
    await service.save('tenant-a', ms({ clientSecret: 's1' }));
    expect((await service.save('tenant-a', ms({ user: 'other@contoso.example' }))).server).toMatchObject({ auth: { clientSecretSet: true } });
    expect((await service.save('tenant-a', ms({}, { host: 'attacker.example' }))).server).toMatchObject({ auth: { clientSecretSet: false } });
    await service.save('tenant-a', ms({ clientSecret: 's1' }));
    expect((await service.save('tenant-a', ms({ clientId: 'b3c4d5e6-0000-4000-8000-000000000002' }))).server).toMatchObject({ auth: { clientSecretSet: false } });
    await service.save('tenant-a', ms({ clientSecret: 's1' }));
    expect((await service.save('tenant-a', ms({ clientSecret: null }))).server).toMatchObject({ auth: { clientSecretSet: false } });
    await expect(service.resolve('tenant-a')).rejects.toMatchObject({ code: 'MAIL_NOT_CONFIGURED', message: 'The OAuth2 settings of the mail server have no client secret; a site admin must enter it.' });
  });

  it('reads a Google service account key file, seals its private key, and shows only its address', async () => {
    const view = await service.save('tenant-a', oauth({ type: 'oauth2', provider: 'google', credential: 'service-account', user: 'bot@contoso.example', serviceAccountKey: SA_KEY }, { host: 'smtp.gmail.com', port: 465, security: 'tls' }));
    expect(view.server).toMatchObject({ auth: { type: 'oauth2', provider: 'google', credential: 'service-account', user: 'bot@contoso.example', serviceAccountEmail: 'mailer@project-x.iam.gserviceaccount.com', serviceAccountKeySet: true } });
    const keyBody = JSON.parse(SA_KEY).private_key.split('\n')[1];
    expect(JSON.stringify(view)).not.toContain(keyBody);
    const e = await row();
    expect(JSON.stringify(e)).not.toContain(keyBody);
    expect(e.oauth2KeyId).toBe('kid-1');
    // Another user, same key.
    const again = await service.save('tenant-a', oauth({ type: 'oauth2', provider: 'google', credential: 'service-account', user: 'other@contoso.example' }, { host: 'smtp.gmail.com', port: 465, security: 'tls' }));
    expect(again.server).toMatchObject({ auth: { serviceAccountKeySet: true, serviceAccountEmail: 'mailer@project-x.iam.gserviceaccount.com' } });
    const badKey = JSON.stringify({ ...JSON.parse(SA_KEY), private_key: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' });
    await expect(service.save('tenant-a', oauth({ type: 'oauth2', provider: 'google', credential: 'service-account', user: 'bot@contoso.example', serviceAccountKey: badKey }))).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: 'server.auth.serviceAccountKey has a private_key that is not an RSA private key; download a new JSON key for the service account.',
    });
  });

  it('keeps a Google refresh token only for the same client and user', async () => {
    const g = (over: Record<string, unknown> = {}) => oauth({ type: 'oauth2', provider: 'google', credential: 'refresh-token', clientId: 'abc.apps.googleusercontent.com', user: 'bot@contoso.example', ...over }, { host: 'smtp.gmail.com' });
    const view = await service.save('tenant-a', g({ clientSecret: 'g-sec', refreshToken: '1//rt-secret' }));
    expect(view.server).toMatchObject({ auth: { clientId: 'abc.apps.googleusercontent.com', clientSecretSet: true, refreshTokenSet: true } });
    expect(JSON.stringify(view)).not.toMatch(/g-sec|rt-secret/);
    expect((await service.save('tenant-a', g())).server).toMatchObject({ auth: { clientSecretSet: true, refreshTokenSet: true } });
    expect((await service.save('tenant-a', g({ user: 'someone@contoso.example' }))).server).toMatchObject({ auth: { clientSecretSet: true, refreshTokenSet: false } });
  });
});

describe.each(databaseKinds())('a CA certificate to trust for the custom server on %s', (kind) => {
  let db: TestDatabase;
  let service: MailSettingsService;
  const clock = new TestClock(new Date());
  const ca = createTestCa();
  const withCa = (tlsCa: unknown, over: Record<string, unknown> = {}) => input({ tlsCa, ...over });
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    await insertTenant(db.ds, 'tenant-a');
    service = makeService(db.ds, { clock }).service;
  });
  afterAll(async () => db?.close());

  it('stores an uploaded CA, shows its subject and expiry, and hands it to SMTP as a CA to trust', async () => {
    const view = await service.save('tenant-a', withCa(ca.caPem));
    expect(view.server).toMatchObject({ mode: 'custom', tlsCaSet: true, tlsCaSubject: 'CN=Mailpage Test CA' });
    expect(view.server.mode === 'custom' && Date.parse(view.server.tlsCaExpiresAt!)).toBeGreaterThan(Date.now());
    expect(JSON.stringify(view)).not.toContain('BEGIN CERTIFICATE');
    const r = await service.resolve('tenant-a');
    expect(r.target.trustedCa).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  it('keeps the CA for the same host when the input leaves it out, drops it for another host, and removes it on null', async () => {
    await service.save('tenant-a', withCa(ca.caPem));
    expect((await service.save('tenant-a', input())).server).toMatchObject({ tlsCaSet: true });
    expect((await service.save('tenant-a', input({ host: 'other.example.com' }))).server).toMatchObject({ tlsCaSet: false });
    await service.save('tenant-a', withCa(ca.caPem));
    expect((await service.save('tenant-a', withCa(null))).server).toMatchObject({ tlsCaSet: false, tlsCaSubject: null });
    expect((await service.resolve('tenant-a')).target.trustedCa).toBeUndefined();
  });

  it('refuses a certificate that is not a CA, an expired CA and one that cannot be read, naming server.tlsCa', async () => {
    await expect(service.save('tenant-a', withCa(ca.certPem))).rejects.toMatchObject({ code: 'VALIDATION_FAILED', status: 400, message: expect.stringMatching(/^server\.tlsCa is not a CA certificate \(CN=localhost cannot issue/) });
    const later = makeService(db.ds, { clock: new TestClock(new Date(Date.now() + 30 * 86_400_000)) }).service;
    await expect(later.save('tenant-a', withCa(ca.caPem))).rejects.toMatchObject({ message: expect.stringMatching(/^server\.tlsCa expired on \d{4}-\d\d-\d\d/) });
    const broken = ca.caPem.replace(/\n[A-Za-z0-9+/]{10}/, '\nAAAAAAAAAA');
    await expect(service.save('tenant-a', withCa(broken))).rejects.toMatchObject({ message: expect.stringMatching(/^server\.tlsCa is not a certificate that can be read/) });
  });

  it('refuses a private key, two certificates, other text and more than 64 kB before reading anything', () => {
    const problem = (tlsCa: string) => {
      const r = mailSettingsInputSchema.safeParse({ senderAddress: 'docs@example.com', server: { mode: 'custom', host: 'smtp.example.com', port: 587, security: 'starttls', tlsCa } });
      return r.success ? null : r.error.issues.map((i) => i.message).join('; ');
    };
    expect(problem(ca.keyPem)).toMatch(/server\.tlsCa holds a private key/);
    expect(problem(`${ca.caPem}${ca.caPem}`)).toMatch(/server\.tlsCa holds 2 certificates/);
    expect(problem(`hello\n${ca.caPem}`)).toMatch(/server\.tlsCa has text outside the PEM certificate/);
    expect(problem('not a certificate')).toMatch(/server\.tlsCa is not a PEM certificate/);
    expect(problem(`${ca.caPem}${' '.repeat(64 * 1024)}`)).toMatch(/server\.tlsCa is longer than 64 kB/);
    expect(problem(ca.caPem)).toBeNull();
  });
});
