import PostalMime from 'postal-mime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, bearer } from '../support/api';
import { runServerExpectingExit, startServer, type RunningServer } from '../support/server';

describe('local mode', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ MAILPAGE_LOCAL_TOKEN: undefined });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('prints the local admin token at start, and that token acts as the site admin', async () => {
    const token = /Local admin token: (\S+)/.exec(server.output())?.[1];
    expect(token).toBeTruthy();
    const r = await apiClient(server.url, bearer(token!)).get('/api/settings/mail');
    expect(r.status).toBe(200);
  });

  it('sends to the built-in catcher on a fresh start, and the outbox returns the raw mail', async () => {
    const api = apiClient(server.url, bearer(server.localToken));
    const sent = await api.post('/api/mail/send', { title: 'Hello catcher', html: '<p>Caught body</p>', to: ['Someone <someone@example.org>'] });
    expect(sent.status).toBe(200);
    const list = await api.get('/api/local/outbox');
    expect(list.status).toBe(200);
    expect(list.body[0]).toMatchObject({ subject: '[Mailpage] Hello catcher', envelope: { to: ['someone@example.org'] } });
    const raw = await fetch(`${server.url}/api/local/outbox/${list.body[0].id}`, { headers: bearer(server.localToken) });
    expect(raw.headers.get('content-type')).toContain('message/rfc822');
    const mail = await PostalMime.parse(await raw.arrayBuffer());
    expect(mail.messageId).toBe(sent.body.messageId);
    expect(mail.text).toContain('Caught body');
  });

  it('answers health and readiness without a token', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${server.url}/readyz`)).json()).toEqual({ status: 'ready' });
  });
});

describe('configuration at start-up', () => {
  it('refuses to start in production without DATABASE_URL, MAILPAGE_SECRET_KEY and FORGE_APP_ID, naming all three', async () => {
    const r = await runServerExpectingExit({ NODE_ENV: 'production', PORT: '0' });
    expect(r.code).toBe(78);
    for (const name of ['DATABASE_URL', 'MAILPAGE_SECRET_KEY', 'FORGE_APP_ID']) expect(r.output).toContain(name);
  });

  it('refuses local-mode parts in production and lists every bad variable', async () => {
    const r = await runServerExpectingExit({ NODE_ENV: 'production', DATABASE_URL: 'mysql://u@127.0.0.1/x', MAILPAGE_SECRET_KEY: 'short', FORGE_APP_ID: 'ari:cloud:ecosystem::app/x', MAILPAGE_LOCAL_TOKEN: 'abcdefghijklmnopqrstu', PORT: 'eighty' });
    expect(r.code).toBe(78);
    expect(r.output).toContain('PORT');
  });

  it('refuses a malformed secret key and a local token in production, together', async () => {
    const r = await runServerExpectingExit({ NODE_ENV: 'production', DATABASE_URL: 'mysql://u@127.0.0.1/x', MAILPAGE_SECRET_KEY: 'short', FORGE_APP_ID: 'ari:cloud:ecosystem::app/x', MAILPAGE_LOCAL_TOKEN: 'abcdefghijklmnopqrstu' });
    expect(r.code).toBe(78);
    expect(r.output).toContain('MAILPAGE_SECRET_KEY: must be 32 bytes');
    expect(r.output).toContain('MAILPAGE_LOCAL_TOKEN: local mode only');
  });
});
