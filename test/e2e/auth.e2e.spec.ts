import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfluenceSandbox } from '../../server/src/local/sandbox/confluence-sandbox';
import { DEMO_APP_ID } from '../../server/src/local/sandbox/demo-site';
import { apiClient, bearer } from '../support/api';
import { dumpDatabase } from '../support/privacy';
import { startServer, type RunningServer } from '../support/server';

const TENANT_B = '0b0b0b0b-0000-4000-8000-00000000000b';

describe('who may call the API', () => {
  let platform: ConfluenceSandbox;
  let stranger: ConfluenceSandbox;
  let server: RunningServer;

  beforeAll(async () => {
    // The test's own "Atlassian": the server trusts its key set through FORGE_JWKS_URL, as it would trust Atlassian's.
    platform = await new ConfluenceSandbox().start();
    stranger = await new ConfluenceSandbox().start();
    server = await startServer({ FORGE_JWKS_URL: `${platform.origin}/.well-known/jwks.json`, FORGE_APP_ID: DEMO_APP_ID });
  });
  afterAll(async () => {
    await server?.stop();
    await platform?.stop();
    await stranger?.stop();
  });

  const asUser = (sandbox: ConfluenceSandbox, accountId: string, opts = {}) =>
    apiClient(server.url, () => sandbox.invocationHeaders(accountId, { installationId: TENANT_B, ...opts }));

  it('lets a site admin of tenant B read B’s settings, which are empty and not tenant A’s', async () => {
    const local = apiClient(server.url, bearer(server.localToken));
    const a = await local.get('/api/settings/mail');
    expect(a.body.configured).toBe(true); // local mode seeds the demo tenant with the catcher
    const r = await asUser(platform, 'sandbox-admin').get('/api/settings/mail');
    expect(r.status).toBe(200);
    expect(r.body.configured).toBe(false);
  });

  it('refuses a user who is not a site admin with 403', async () => {
    const r = await asUser(platform, 'alice').put('/api/settings/mail', { senderAddress: 'x@example.com', server: { mode: 'custom', host: 'smtp.example.com', port: 587, security: 'starttls' } });
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('FORBIDDEN');
  });

  it('refuses a token with alg none, a wrong audience, an expired one, one signed by another key, and one for a foreign API host', async () => {
    const good = await platform.signInvocation({ principal: 'sandbox-admin', installationId: TENANT_B });
    const [, payload] = good.split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
    const tokens = {
      none,
      audience: await platform.signInvocation({ principal: 'sandbox-admin', installationId: TENANT_B, appId: 'ari:cloud:ecosystem::app/other-app' }),
      expired: await platform.signInvocation({ principal: 'sandbox-admin', installationId: TENANT_B, ttlSeconds: -120 }),
      otherKey: await stranger.signInvocation({ principal: 'sandbox-admin', installationId: TENANT_B }),
      foreignHost: await platform.signInvocation({ principal: 'sandbox-admin', installationId: TENANT_B, apiBaseUrl: 'https://evil.example.com/ex/confluence/x' }),
      garbage: 'not-a-token',
    };
    const messages: Record<string, string> = {};
    for (const [name, token] of Object.entries(tokens)) {
      const r = await apiClient(server.url, { ...bearer(token), 'x-forge-oauth-user': platform.issueUserToken('sandbox-admin') }).get('/api/settings/mail');
      expect(r.status, name).toBe(401);
      expect(r.body.code, name).toBe('UNAUTHENTICATED');
      messages[name] = r.body.message;
    }
    expect(messages.expired).toMatch(/expired/);
    expect(messages.audience).toMatch(/another app/);
    expect(messages.otherKey).toMatch(/key the service does not trust/);
    expect(messages.foreignHost).toMatch(/not an Atlassian API host/);
    const missing = await apiClient(server.url, {}).get('/api/settings/mail');
    expect(missing.status).toBe(401);
  });

  it('does not show one tenant’s send to another tenant', async () => {
    const local = apiClient(server.url, bearer(server.localToken));
    const sent = await local.post('/api/mail/send', { title: 'A page', html: '<p>a</p>', to: ['someone@example.org'] });
    expect(sent.status).toBe(200);
    expect((await local.get(`/api/mail/sends/${sent.body.sendId}`)).status).toBe(200);
    const other = await asUser(platform, 'sandbox-admin').get(`/api/mail/sends/${sent.body.sendId}`);
    expect(other.status).toBe(404);
    expect(other.text).not.toContain(sent.body.messageId);
  });

  it('keeps permissions and the audit log of each tenant apart, whatever ids a request names', async () => {
    const local = apiClient(server.url, bearer(server.localToken));
    const b = asUser(platform, 'sandbox-admin');
    expect((await local.put('/api/permissions', { enabled: true, allowedGroups: ['writers'], enforceInAllSpaces: true })).status).toBe(200);
    expect((await b.get('/api/permissions')).body).toEqual({ enabled: true, allowedGroups: [], enforceInAllSpaces: false });
    expect((await b.put('/api/permissions', { enabled: false, allowedGroups: [], enforceInAllSpaces: false })).status).toBe(200);
    expect((await local.get('/api/permissions')).body).toEqual({ enabled: true, allowedGroups: ['writers'], enforceInAllSpaces: true });
    const aAudit = await local.get('/api/audit');
    expect(aAudit.body.entries.length).toBeGreaterThan(0);
    const bAudit = await b.get('/api/audit');
    expect(bAudit.body.entries).toEqual([]);
    // A cursor made from tenant A's newest row does not open A's rows to B.
    const cursor = Buffer.from(`2999-01-01T00:00:00.000Z|${aAudit.body.entries[0].id}`).toString('base64url');
    expect((await b.get(`/api/audit?cursor=${cursor}`)).body.entries).toEqual([]);
    await b.put('/api/permissions', { enabled: true, allowedGroups: [], enforceInAllSpaces: false });
    await local.put('/api/permissions', { enabled: true, allowedGroups: [], enforceInAllSpaces: false });
  });

  it('deletes every row of a tenant on an uninstalled event, and a later install starts empty', async () => {
    const admin = asUser(platform, 'sandbox-admin');
    expect((await admin.put('/api/permissions', { enabled: true, allowedGroups: ['writers'], enforceInAllSpaces: false })).status).toBe(200);
    const saved = await admin.put('/api/settings/mail', { senderAddress: 'b@example.com', server: { mode: 'custom', host: '127.0.0.1', port: 2525, security: 'none' } });
    expect(saved.status).toBe(200);
    const db = { type: 'sqlite' as const, path: join(server.dataDir, 'mailpage.sqlite') };
    expect(await dumpDatabase(db)).toContain(TENANT_B);

    const system = await platform.signInvocation({ principal: null, installationId: TENANT_B });
    const lifecycle = (eventType: string) =>
      fetch(`${server.url}/forge/lifecycle`, { method: 'POST', headers: { ...bearer(system), 'content-type': 'application/json' }, body: JSON.stringify({ eventType, id: `ari:cloud:ecosystem::installation/${TENANT_B}` }) });
    expect((await lifecycle('avi:forge:uninstalled:app')).status).toBe(204);
    expect(await dumpDatabase(db)).not.toContain(TENANT_B);

    expect((await lifecycle('avi:forge:installed:app')).status).toBe(204);
    expect((await admin.get('/api/settings/mail')).body.configured).toBe(false);
    expect((await admin.get('/api/permissions')).body.allowedGroups).toEqual([]);

    const forged = await fetch(`${server.url}/forge/lifecycle`, { method: 'POST', headers: { ...bearer(system), 'content-type': 'application/json' }, body: JSON.stringify({ eventType: 'avi:forge:uninstalled:app', id: 'someone-else' }) });
    expect(forged.status).toBe(403);
  });
});
