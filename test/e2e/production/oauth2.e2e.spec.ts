import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, bearer, recording } from '../../support/api';
import { dumpDatabase } from '../../support/privacy';
import { createMysqlDatabase, databaseKinds, startServer, type RunningServer } from '../../support/server';
import { createTestCa, testCaFile } from '../../support/tls';
import { FakeIdentityProvider } from './support/identity-provider';
import { startXOAuth2SmtpServer, type XOAuth2SmtpServer } from './support/xoauth2-smtp';

const MAILBOX = 'bot@contoso.example';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(databaseKinds())('sending through Microsoft 365 and Google with OAuth2 on %s', (kind) => {
  let idp: FakeIdentityProvider;
  let smtp: XOAuth2SmtpServer;
  let server: RunningServer;
  let api: ReturnType<typeof apiClient>;
  let dropDb: (() => Promise<void>) | undefined;
  let dbUrl: string | undefined;
  const responses: string[] = [];

  const settings = (auth: Record<string, unknown>) => ({
    senderName: 'Contoso docs',
    senderAddress: MAILBOX,
    server: { mode: 'custom', host: 'localhost', port: smtp.port, security: 'starttls', auth },
  });
  const send = (title: string) => api.post('/api/mail/send', { title, html: `<p>${title}</p>`, to: ['ann@example.org'] });

  beforeAll(async () => {
    const ca = createTestCa();
    idp = await new FakeIdentityProvider().start();
    smtp = await startXOAuth2SmtpServer(idp, { tls: { key: ca.keyPem, cert: ca.certPem } });
    if (kind === 'mysql') ({ url: dbUrl, drop: dropDb } = await createMysqlDatabase());
    server = await startServer({
      DATABASE_URL: dbUrl,
      NODE_EXTRA_CA_CERTS: testCaFile(ca),
      MICROSOFT_AUTHORITY_HOST: idp.microsoftAuthorityHost,
      GOOGLE_TOKEN_URL: idp.googleTokenUrl,
    });
    api = recording(apiClient(server.url, bearer(server.localToken)), responses);
  });

  afterAll(async () => {
    await server?.stop();
    await smtp?.close();
    await idp?.stop();
    await dropDb?.();
  });

  it('saves a Microsoft 365 app login, showing only that a client secret is set', async () => {
    const app = idp.addMicrosoftApp([MAILBOX]);
    const put = await api.put('/api/settings/mail', settings({ type: 'oauth2', provider: 'microsoft', tenantId: app.tenantId, clientId: app.clientId, clientSecret: app.clientSecret, user: MAILBOX }));
    expect(put.status).toBe(200);
    expect(put.body.server.auth).toEqual({ type: 'oauth2', provider: 'microsoft', tenantId: app.tenantId, clientId: app.clientId, user: MAILBOX, clientSecretSet: true });
    const get = await api.get('/api/settings/mail');
    expect(get.body.server.auth).toEqual(put.body.server.auth);
  });

  it('tests the connection, sends a test mail and sends a page with XOAUTH2', async () => {
    const v = await api.post('/api/settings/mail/verify', { testRecipient: 'ann@example.org' });
    expect(v.status).toBe(200);
    expect(v.body.steps).toEqual(['connect', 'tls', 'auth', 'test-mail']);
    const r = await send('Microsoft page');
    expect(r.status).toBe(200);
    expect(smtp.mails.at(-1)).toMatchObject({ user: MAILBOX, envelope: { from: MAILBOX, to: ['ann@example.org'] } });
    expect(smtp.logins.every((l) => l.accepted && l.user === MAILBOX)).toBe(true);
    // One token for all of it: cached.
    expect(idp.issued).toHaveLength(1);
  });

  it('fetches a new token after the old one expired, and no send fails', async () => {
    idp.expiresIn = 1;
    const app = idp.addMicrosoftApp([MAILBOX]);
    await api.put('/api/settings/mail', settings({ type: 'oauth2', provider: 'microsoft', tenantId: app.tenantId, clientId: app.clientId, clientSecret: app.clientSecret, user: MAILBOX }));
    const issued = idp.issued.length;
    expect((await send('Before expiry')).status).toBe(200);
    await sleep(1300);
    expect((await send('After expiry')).status).toBe(200);
    expect(idp.issued.length - issued).toBe(2);
    expect(smtp.logins.filter((l) => !l.accepted)).toEqual([]);
    idp.expiresIn = 3600;
  });

  it('logs in again with a fresh token when the mail server refuses the cached one', async () => {
    idp.revoke(idp.issued.at(-1)!.token);
    smtp.refusal = '535';
    await sleep(100);
    const r = await api.post('/api/settings/mail/verify', {});
    expect(r.status).toBe(200);
    expect(smtp.logins.at(-1)).toMatchObject({ accepted: true, token: idp.issued.at(-1)!.token });
    smtp.refusal = 'challenge';
  });

  it('says what Microsoft refused when the client secret is wrong', async () => {
    const app = idp.addMicrosoftApp([MAILBOX]);
    await api.put('/api/settings/mail', settings({ type: 'oauth2', provider: 'microsoft', tenantId: app.tenantId, clientId: app.clientId, clientSecret: 'wrong-secret-Zx81', user: MAILBOX }));
    const r = await api.post('/api/settings/mail/verify', {});
    expect(r.status).toBe(502);
    expect(r.body).toMatchObject({
      code: 'SMTP_AUTH_FAILED',
      message: 'Microsoft 365 did not issue an access token for the mail server (invalid_client, AADSTS7000215). Check the application (client) ID and the client secret, and that the secret has not expired.',
    });
    expect(r.text).not.toContain('wrong-secret-Zx81');
  });

  it('sends as a Google Workspace user through a service account key', async () => {
    const sa = idp.addServiceAccount([MAILBOX]);
    const put = await api.put('/api/settings/mail', settings({ type: 'oauth2', provider: 'google', credential: 'service-account', user: MAILBOX, serviceAccountKey: sa.keyFile }));
    expect(put.body.server.auth).toEqual({ type: 'oauth2', provider: 'google', credential: 'service-account', user: MAILBOX, serviceAccountEmail: sa.clientEmail, serviceAccountKeySet: true });
    expect((await send('Google page')).status).toBe(200);
    expect(idp.issued.at(-1)).toMatchObject({ provider: 'google', grant: 'jwt-bearer', users: [MAILBOX] });
    expect(smtp.logins.at(-1)).toMatchObject({ accepted: true, token: idp.issued.at(-1)!.token });
  });

  it('sends as a Google user with a refresh token', async () => {
    const g = idp.addRefreshGrant(MAILBOX);
    const put = await api.put('/api/settings/mail', settings({ type: 'oauth2', provider: 'google', credential: 'refresh-token', clientId: g.clientId, clientSecret: g.clientSecret, refreshToken: g.refreshToken, user: MAILBOX }));
    expect(put.body.server.auth).toEqual({ type: 'oauth2', provider: 'google', credential: 'refresh-token', user: MAILBOX, clientId: g.clientId, clientSecretSet: true, refreshTokenSet: true });
    expect((await send('Refresh page')).status).toBe(200);
    expect(idp.issued.at(-1)).toMatchObject({ provider: 'google', grant: 'refresh_token' });
  });

  it('keeps every OAuth2 secret and token out of responses, the database and the log at trace level', async () => {
    const dump = await dumpDatabase(dbUrl ? { type: 'mysql', url: dbUrl } : { type: 'sqlite', path: join(server.dataDir, 'mailpage.sqlite') });
    const secrets = [...idp.secrets(), 'wrong-secret-Zx81'];
    expect(secrets.length).toBeGreaterThan(8);
    for (const s of secrets) {
      expect(responses.join('\n'), 'responses').not.toContain(s);
      expect(dump, 'database').not.toContain(s);
      expect(server.output(), 'log').not.toContain(s);
    }
  });
});
