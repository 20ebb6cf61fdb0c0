import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, bearer } from '../../support/api';
import { startServer, type RunningServer } from '../../support/server';
import { startTestSmtpServer, type TestSmtpServer } from '../../support/smtp';
import { createTestCa } from '../../support/tls';
import { expectRefused, makeCa } from './support';

const PASSWORD = 'tls-pass-Wq3!';

/**
 * A mail server whose certificate a private CA issued (an on-premises relay): refused with SMTP_TLS_FAILED until a
 * site admin uploads that CA, then trusted, with certificate checks still on. The service runs without
 * NODE_EXTRA_CA_CERTS: the upload is the only way it learns the CA.
 */
describe('hardening: a CA certificate a site admin uploads for the custom server', () => {
  const ca = createTestCa();
  let smtp: TestSmtpServer;
  let server: RunningServer;
  let api: ReturnType<typeof apiClient>;
  const settings = (over: Record<string, unknown> = {}) => ({
    senderName: 'Ops',
    senderAddress: 'ops@example.com',
    server: { mode: 'custom', host: '127.0.0.1', port: smtp.port, security: 'starttls', auth: { type: 'password', username: 'mailer', password: PASSWORD }, ...over },
  });
  const send = () => api.post('/api/mail/send', { title: 'Over private TLS', html: '<p>hello</p>', to: ['ann@example.com'] });

  beforeAll(async () => {
    smtp = await startTestSmtpServer({ tls: { key: ca.keyPem, cert: ca.certPem }, users: { mailer: PASSWORD } });
    server = await startServer();
    api = apiClient(server.url, bearer(server.localToken));
  });
  afterAll(async () => {
    await server?.stop();
    await smtp?.close();
  });

  it('runs the service without NODE_EXTRA_CA_CERTS', () => {
    const environ = readFileSync(`/proc/${server.child.pid}/environ`, 'utf8').split('\0');
    expect(environ.filter((v) => v.startsWith('NODE_EXTRA_CA_CERTS='))).toEqual([]);
  });

  it('refuses the server’s certificate without the CA: SMTP_TLS_FAILED, and nothing sent', async () => {
    expect((await api.put('/api/settings/mail', settings())).status).toBe(200);
    const verify = await api.post('/api/settings/mail/verify', {});
    expectRefused(verify, 502, 'SMTP_TLS_FAILED', /^The certificate of the mail server at 127\.0\.0\.1:\d+ is not trusted/);
    expectRefused(await send(), 502, 'SMTP_TLS_FAILED', /is not trusted/, smtp, 0);
  });

  it('tests the connection with the CA before it is saved, then sends with it saved', async () => {
    const tried = await api.post('/api/settings/mail/verify', { settings: settings({ tlsCa: ca.caPem }) });
    expect(tried.status, tried.text).toBe(200);
    expect(tried.body.steps).toEqual(['connect', 'tls', 'auth']);

    const put = await api.put('/api/settings/mail', settings({ tlsCa: ca.caPem }));
    expect(put.status, put.text).toBe(200);
    expect(put.body.server).toMatchObject({ tlsCaSet: true, tlsCaSubject: 'CN=Mailpage Test CA' });
    expect(Date.parse(put.body.server.tlsCaExpiresAt)).toBeGreaterThan(Date.now());
    const get = await api.get('/api/settings/mail');
    expect(get.body.server).toMatchObject({ tlsCaSet: true, tlsCaSubject: 'CN=Mailpage Test CA' });
    expect(get.text).not.toContain('BEGIN CERTIFICATE');

    const sent = await send();
    expect(sent.status, sent.text).toBe(200);
    expect(smtp.messagesReceived).toBe(1);
  });

  it('keeps the CA when the settings are saved again without it, for the same host', async () => {
    expect((await api.put('/api/settings/mail', settings())).body.server.tlsCaSet).toBe(true);
    expect((await send()).status).toBe(200);
    expect(smtp.messagesReceived).toBe(2);
  });

  it('trusts only the uploaded CA: another CA still fails, and removing it fails again', async () => {
    const other = makeCa('Some Other CA');
    expectRefused(await api.post('/api/settings/mail/verify', { settings: settings({ tlsCa: other }) }), 502, 'SMTP_TLS_FAILED', /is not trusted/);
    const removed = await api.put('/api/settings/mail', settings({ tlsCa: null }));
    expect(removed.body.server).toMatchObject({ tlsCaSet: false, tlsCaSubject: null, tlsCaExpiresAt: null });
    expectRefused(await send(), 502, 'SMTP_TLS_FAILED', /is not trusted/, smtp, 2);
  });

  it.each([
    ['the server certificate instead of its CA', () => ca.certPem, /^server\.tlsCa is not a CA certificate \(CN=localhost cannot issue certificates\)/],
    ['an expired CA', () => makeCa('Expired CA', { expired: true }), /server\.tlsCa expired on 2020-02-01; upload the CA's current certificate/],
    ['a private key', () => ca.keyPem, /server\.tlsCa holds a private key/],
    ['two certificates', () => `${ca.caPem}\n${makeCa('Second CA')}`, /server\.tlsCa holds 2 certificates/],
    ['a certificate that cannot be read', () => ca.caPem.replace(/\n[A-Za-z0-9+/]{12}/, '\nAAAAAAAAAAAA'), /server\.tlsCa is not a certificate that can be read/],
    ['text that is not PEM', () => 'MIIB...', /server\.tlsCa is not a PEM certificate/],
    ['more than 64 kB', () => `${ca.caPem}${'\n'.repeat(64 * 1024)}`, /server\.tlsCa is longer than 64 kB/],
  ])('refuses %s, naming server.tlsCa', async (_, pem, message) => {
    const r = await api.put('/api/settings/mail', settings({ tlsCa: pem() }));
    expectRefused(r, 400, 'VALIDATION_FAILED', message);
    expect(r.text).not.toContain('PRIVATE KEY');
  });
});
