import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeIdentityProvider } from '../../../../test/e2e/production/support/identity-provider';
import { startXOAuth2SmtpServer, type XOAuth2SmtpServer } from '../../../../test/e2e/production/support/xoauth2-smtp';
import { DomainError } from '../../common/domain-error';
import type { AppConfig } from '../../config/app-config';
import { SecretBox } from '../../secrets/secret-box';
import type { OAuth2Credential } from './oauth2-providers';
import { OAuth2Tokens } from './oauth2-tokens';
import { SmtpPool } from './smtp-pool.service';
import type { SmtpTarget } from './smtp.types';

const RAW = Buffer.from(['From: Bot <bot@contoso.example>', 'To: ann@example.com', 'Subject: Page', 'MIME-Version: 1.0', 'Content-Type: text/plain', '', 'Hello', ''].join('\r\n'));
const MAILBOX = 'bot@contoso.example';

let idp: FakeIdentityProvider;
let smtp: XOAuth2SmtpServer;
let pool: SmtpPool;
let tokens: OAuth2Tokens;

const envelope = { from: MAILBOX, to: ['ann@example.com'] };
const target = (credential: OAuth2Credential, over: Partial<SmtpTarget> = {}): SmtpTarget => ({
  key: `t1:${randomBytes(4).toString('hex')}`,
  host: '127.0.0.1',
  port: smtp.port,
  security: 'none',
  auth: { type: 'oauth2', user: credential.user, tokens: tokens.source('t1', credential) },
  ...over,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function refusal(p: Promise<unknown>): Promise<DomainError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(DomainError);
  for (const s of idp.secrets()) expect(JSON.stringify({ m: (e as DomainError).message, d: (e as DomainError).details })).not.toContain(s);
  return e as DomainError;
}

beforeAll(async () => {
  idp = await new FakeIdentityProvider().start();
  const config = {
    secretKeys: [{ id: 'k1', key: randomBytes(32) }],
    oauth2: { microsoftAuthorityHost: idp.microsoftAuthorityHost, googleTokenUrl: idp.googleTokenUrl },
    smtp: { connectionTimeoutMs: 3000 },
  } as unknown as AppConfig;
  tokens = new OAuth2Tokens(config, new SecretBox(config));
});
afterAll(async () => {
  await idp?.stop();
});

describe('SMTP login with OAuth2 (XOAUTH2)', () => {
  beforeAll(async () => {
    smtp = await startXOAuth2SmtpServer(idp);
  });
  afterAll(async () => smtp?.close());
  afterEach(async () => {
    await pool?.close();
    pool = new SmtpPool({ allowPrivateHosts: true, connectionTimeoutMs: 3000, greetingTimeoutMs: 3000, socketTimeoutMs: 5000, maxPools: 10 });
    smtp.refusal = 'challenge';
    idp.expiresIn = 3600;
  });
  beforeAll(() => {
    pool = new SmtpPool({ allowPrivateHosts: true, connectionTimeoutMs: 3000, greetingTimeoutMs: 3000, socketTimeoutMs: 5000, maxPools: 10 });
  });
  afterAll(async () => pool?.close());

  it('sends as a Microsoft 365 mailbox with a client-credentials token, and reuses the cached token', async () => {
    const app = idp.addMicrosoftApp([MAILBOX]);
    const t = target({ provider: 'microsoft', tenantId: app.tenantId, clientId: app.clientId, clientSecret: app.clientSecret, user: MAILBOX });
    const before = idp.issued.length;
    await pool.verify(t);
    const r = await pool.send(t, envelope, RAW);
    expect(r.accepted).toEqual(['ann@example.com']);
    await pool.send({ ...t, key: 'other-key' }, envelope, RAW);
    expect(idp.issued.length - before).toBe(1);
    const issued = idp.issued.at(-1)!;
    expect(issued).toMatchObject({ provider: 'microsoft', grant: 'client_credentials' });
    expect(smtp.logins.filter((l) => l.token === issued.token).every((l) => l.accepted && l.user === MAILBOX)).toBe(true);
    expect(smtp.mails.at(-1)!.user).toBe(MAILBOX);
    const request = idp.requests.at(-1)!;
    expect(request).toMatchObject({ grant_type: 'client_credentials', client_id: app.clientId, scope: 'https://outlook.office365.com/.default' });
  });

  it('sends as a Google Workspace user through a service account with domain-wide delegation', async () => {
    const sa = idp.addServiceAccount([MAILBOX]);
    const key = JSON.parse(sa.keyFile);
    const t = target({ provider: 'google', credential: 'service-account', clientEmail: sa.clientEmail, keyId: sa.keyId, privateKey: key.private_key, user: MAILBOX });
    const before = smtp.mails.length;
    await pool.send(t, envelope, RAW);
    expect(smtp.mails.length).toBe(before + 1);
    expect(idp.issued.at(-1)).toMatchObject({ provider: 'google', grant: 'jwt-bearer', users: [MAILBOX] });
    // The key file's token_uri was not called: the only requests went to the configured endpoint.
    expect(idp.requests.at(-1)!.grant_type).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
  });

  it('sends as a Google user with a refresh token', async () => {
    const g = idp.addRefreshGrant(MAILBOX);
    const t = target({ provider: 'google', credential: 'refresh-token', clientId: g.clientId, clientSecret: g.clientSecret, refreshToken: g.refreshToken, user: MAILBOX });
    await pool.send(t, envelope, RAW);
    expect(idp.issued.at(-1)).toMatchObject({ provider: 'google', grant: 'refresh_token' });
  });

  it('fetches a new token once the old one expires, without a failed send', async () => {
    idp.expiresIn = 1;
    const app = idp.addMicrosoftApp([MAILBOX]);
    const t = target({ provider: 'microsoft', tenantId: app.tenantId, clientId: app.clientId, clientSecret: app.clientSecret, user: MAILBOX });
    await pool.send(t, envelope, RAW);
    const first = idp.issued.at(-1)!.token;
    await sleep(1200);
    expect(idp.isValid(first, MAILBOX)).toBe(false);
    const refusedBefore = smtp.logins.filter((l) => !l.accepted).length;
    await pool.send(t, envelope, RAW);
    const second = idp.issued.at(-1)!.token;
    expect(second).not.toBe(first);
    // The expired token was never presented: the cache renewed it first.
    expect(smtp.logins.filter((l) => !l.accepted).length).toBe(refusedBefore);
    expect(smtp.logins.at(-1)).toMatchObject({ token: second, accepted: true });
  });

  it('gets a fresh token once and logs in again when the server refuses the token with 334 then 535', async () => {
    const app = idp.addMicrosoftApp([MAILBOX]);
    const t = target({ provider: 'microsoft', tenantId: app.tenantId, clientId: app.clientId, clientSecret: app.clientSecret, user: MAILBOX });
    await pool.verify(t);
    const revoked = idp.issued.at(-1)!.token;
    idp.revoke(revoked);
    const before = idp.issued.length;
    await pool.send({ ...t, key: 'fresh-pool' }, envelope, RAW);
    expect(idp.issued.length).toBe(before + 1);
    expect(smtp.logins.slice(-2)).toEqual([
      { user: MAILBOX, token: revoked, accepted: false },
      { user: MAILBOX, token: idp.issued.at(-1)!.token, accepted: true },
    ]);
  });

  it('gets a fresh token once and tries again when the server answers 535 at once, as Microsoft 365 does', async () => {
    smtp.refusal = '535';
    const app = idp.addMicrosoftApp([MAILBOX]);
    const t = target({ provider: 'microsoft', tenantId: app.tenantId, clientId: app.clientId, clientSecret: app.clientSecret, user: MAILBOX });
    await pool.verify(t);
    idp.revoke(idp.issued.at(-1)!.token);
    const before = idp.issued.length;
    const r = await pool.send({ ...t, key: 'fresh-pool-2' }, envelope, RAW);
    expect(r.accepted).toEqual(['ann@example.com']);
    expect(idp.issued.length).toBe(before + 1);
  });

  it('gives up after one fresh token when the server keeps refusing, and says the token was refused', async () => {
    const app = idp.addMicrosoftApp(['someone-else@contoso.example']);
    const t = target({ provider: 'microsoft', tenantId: app.tenantId, clientId: app.clientId, clientSecret: app.clientSecret, user: MAILBOX });
    const before = idp.issued.length;
    const e = await refusal(pool.send(t, envelope, RAW));
    expect(e.code).toBe('SMTP_AUTH_FAILED');
    expect(e.message).toBe(`The mail server refused the OAuth2 access token for ${MAILBOX} (reply 535). Check that this mailbox may send with SMTP AUTH and that the app (or service account) is allowed to send as it.`);
    expect(idp.issued.length - before).toBe(2);
  });

  it('says what the identity provider refused, naming its error code but never the secret it was sent', async () => {
    const app = idp.addMicrosoftApp([MAILBOX]);
    const wrongSecret = `wrong-${randomBytes(8).toString('hex')}`;
    const e = await refusal(pool.send(target({ provider: 'microsoft', tenantId: app.tenantId, clientId: app.clientId, clientSecret: wrongSecret, user: MAILBOX }), envelope, RAW));
    expect(e.code).toBe('SMTP_AUTH_FAILED');
    expect(e.message).toBe(
      'Microsoft 365 did not issue an access token for the mail server (invalid_client, AADSTS7000215). Check the application (client) ID and the client secret, and that the secret has not expired.',
    );
    expect(JSON.stringify(e)).not.toContain(wrongSecret);
    const tenant = await refusal(pool.verify(target({ provider: 'microsoft', tenantId: 'contoso.onmicrosoft.com', clientId: app.clientId, clientSecret: app.clientSecret, user: MAILBOX })));
    expect(tenant.message).toMatch(/\(invalid_request, AADSTS90002\)\. The directory \(tenant\) ID was not found\.$/);
    const g = idp.addRefreshGrant(MAILBOX);
    const revoked = await refusal(pool.send(target({ provider: 'google', credential: 'refresh-token', clientId: g.clientId, clientSecret: g.clientSecret, refreshToken: 'expired', user: MAILBOX }), envelope, RAW));
    expect(revoked.message).toBe('Google did not issue an access token for the mail server (invalid_grant). The refresh token has expired or was revoked, or the user does not exist: create a new one.');
    const sa = idp.addServiceAccount(['other@contoso.example']);
    const undelegated = await refusal(
      pool.send(target({ provider: 'google', credential: 'service-account', clientEmail: sa.clientEmail, keyId: sa.keyId, privateKey: JSON.parse(sa.keyFile).private_key, user: MAILBOX }), envelope, RAW),
    );
    expect(undelegated.message).toMatch(/\(unauthorized_client\)\. For a service account, a Google Workspace admin must allow its client ID the scope https:\/\/mail\.google\.com\/ under domain-wide delegation\.$/);
  });

  it('says so when the identity provider cannot be reached', async () => {
    const config = { secretKeys: [{ id: 'k1', key: randomBytes(32) }], oauth2: { microsoftAuthorityHost: 'http://127.0.0.1:9', googleTokenUrl: 'http://127.0.0.1:9/token' }, smtp: { connectionTimeoutMs: 2000 } } as unknown as AppConfig;
    const offline = new OAuth2Tokens(config, new SecretBox(config));
    const credential: OAuth2Credential = { provider: 'microsoft', tenantId: 'contoso.onmicrosoft.com', clientId: 'c', clientSecret: 's', user: MAILBOX };
    const e = await refusal(pool.send({ key: 'k', host: '127.0.0.1', port: smtp.port, security: 'none', auth: { type: 'oauth2', user: MAILBOX, tokens: offline.source('t1', credential) } }, envelope, RAW));
    expect(e.message).toBe("Could not reach Microsoft 365's sign-in service to get an access token for the mail server. Try again later.");
  });

  it('asks the identity provider once when many sends need a token at the same time', async () => {
    const app = idp.addMicrosoftApp([MAILBOX]);
    const t = target({ provider: 'microsoft', tenantId: app.tenantId, clientId: app.clientId, clientSecret: app.clientSecret, user: MAILBOX });
    const before = idp.issued.length;
    await Promise.all(Array.from({ length: 5 }, () => pool.send(t, envelope, RAW)));
    expect(idp.issued.length - before).toBe(1);
  });
});
