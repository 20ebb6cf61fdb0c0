import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfluenceSandbox } from '../../../server/src/local/sandbox/confluence-sandbox';
import { DEMO_APP_ID } from '../../../server/src/local/sandbox/demo-site';
import { apiClient } from '../../support/api';
import { startServer, type RunningServer } from '../../support/server';
import { startTestSmtpServer, type TestSmtpServer } from '../../support/smtp';

const TENANT = '7e7a7e7a-0000-4000-8000-0000000000b3';

describe('the recipient domain allow-list, end to end', () => {
  let platform: ConfluenceSandbox;
  let smtp: TestSmtpServer;
  let server: RunningServer;

  beforeAll(async () => {
    platform = await new ConfluenceSandbox().start();
    platform.addUser({ accountId: 'otto', displayName: 'Otto Outsider', email: 'otto@partner.example' });
    platform.addUser({ accountId: 'olga', displayName: 'Olga Outsider', email: null, realEmail: 'olga@partner.example' });
    platform.addUser({ accountId: 'ines', displayName: 'Ines Insider', email: 'ines@example.com' });
    platform.setGroupMembers('mixed', ['otto', 'ines']);
    smtp = await startTestSmtpServer();
    server = await startServer({ FORGE_JWKS_URL: `${platform.origin}/.well-known/jwks.json`, FORGE_APP_ID: DEMO_APP_ID });
    const saved = await as('sandbox-admin').put('/api/settings/mail', { senderName: 'Wiki', senderAddress: 'wiki@example.com', subjectPrefix: '', server: { mode: 'custom', host: '127.0.0.1', port: smtp.port, security: 'none' } });
    expect(saved.status).toBe(200);
  });
  afterAll(async () => {
    await server?.stop();
    await smtp?.close();
    await platform?.stop();
  });

  const as = (accountId: string) => apiClient(server.url, () => platform.invocationHeaders(accountId, { installationId: TENANT }));
  const mail = (recipients: Record<string, unknown>) => ({ title: 'Policy check', html: '<p>x</p>', ...recipients });

  it('saves the lists IDN-normalised, for site admins only', async () => {
    const put = await as('sandbox-admin').put('/api/settings/recipients', { allowedDomains: ['Example.com', '.corp.example', 'bücher.example'], blockedDomains: ['.example.com'] });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ allowedDomains: ['example.com', '.corp.example', 'xn--bcher-kva.example'], blockedDomains: ['.example.com'] });
    expect((await as('sandbox-admin').get('/api/settings/recipients')).body).toMatchObject({ allowedDomains: ['example.com', '.corp.example', 'xn--bcher-kva.example'] });
    expect((await as('alice').put('/api/settings/recipients', { allowedDomains: [], blockedDomains: [] })).status).toBe(403);
    expect((await as('alice').get('/api/settings/recipients')).status).toBe(403);
    const bad = await as('sandbox-admin').put('/api/settings/recipients', { allowedDomains: ['example.com', 'not a domain'] });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('"not a domain"');
  });

  it('refuses an address outside the list with its name in the message, and nothing reaches the SMTP server', async () => {
    const connections = smtp.connectionCount;
    const r = await as('alice').post('/api/mail/send', mail({ to: ['ann@example.com', 'ok@eu.corp.example'], cc: ['eve@evil.example'], bcc: ['x@corp.example'] }));
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('RECIPIENT_NOT_ALLOWED');
    expect(r.body.message).toContain('eve@evil.example');
    // `.corp.example` is its subdomains only, not corp.example itself.
    expect(r.body.message).toContain('x@corp.example');
    expect(r.body.message).not.toContain('ann@example.com');
    expect(r.body.details.recipients).toEqual([
      'cc[0] eve@evil.example is outside the domains a site admin allows (evil.example)',
      'bcc[0] x@corp.example is outside the domains a site admin allows (corp.example)',
    ]);
    expect(smtp.connectionCount).toBe(connections);
    expect(smtp.mails).toHaveLength(0);
    // The preview says the same.
    expect((await as('alice').post('/api/mail/preview', mail({ to: ['eve@evil.example'] }))).body.code).toBe('RECIPIENT_NOT_ALLOWED');
  });

  it('refuses a blocked subdomain and a Confluence user whose address is outside the list', async () => {
    const blocked = await as('alice').post('/api/mail/send', mail({ to: ['a@mail.example.com'] }));
    expect(blocked.body).toMatchObject({ code: 'RECIPIENT_NOT_ALLOWED', message: expect.stringContaining('a@mail.example.com') });
    const user = await as('alice').post('/api/mail/send', mail({ to: [{ accountId: 'otto' }] }));
    expect(user.body).toMatchObject({ code: 'RECIPIENT_NOT_ALLOWED', message: expect.stringContaining('otto@partner.example') });
    // A hidden address is resolved (as the app) and checked too.
    const hidden = await as('alice').post('/api/mail/send', mail({ to: [{ accountId: 'olga' }] }));
    expect(hidden.body).toMatchObject({ code: 'RECIPIENT_NOT_ALLOWED', message: expect.stringContaining('olga@partner.example') });
    expect(smtp.mails).toHaveLength(0);
  });

  it('sends to addresses inside the list, IDN spellings included', async () => {
    const r = await as('alice').post('/api/mail/send', mail({ to: ['ann@example.com', 'ok@eu.corp.example', 'leser@bücher.example'] }));
    expect(r.status).toBe(200);
    // However the relay is handed an internationalised domain, it is this one.
    const ascii = (a: string) => `${a.split('@')[0]}@${new URL(`http://${a.split('@')[1]}`).hostname}`;
    expect(smtp.mails.at(-1)!.envelope.to.map(ascii)).toEqual(['ann@example.com', 'ok@eu.corp.example', 'leser@xn--bcher-kva.example']);
  });

  it('skips group members outside the list and says so', async () => {
    const r = await as('alice').post('/api/mail/send', mail({ to: [{ group: 'mixed' }] }));
    expect(r.status).toBe(200);
    expect(smtp.mails.at(-1)!.envelope.to).toEqual(['ines@example.com']);
    expect(r.body.skipped).toEqual([{ group: 'mixed', accountId: 'otto', displayName: 'Otto Outsider', reason: 'their address is outside the domains a site admin allows (partner.example)' }]);
  });

  it('hides users outside the list from the user search, and keeps users whose address is hidden', async () => {
    expect((await as('alice').get('/api/recipients?query=Outsider')).body).toEqual([{ accountId: 'olga', displayName: 'Olga Outsider', email: null }]);
    expect((await as('alice').get('/api/recipients?query=Insider')).body).toEqual([{ accountId: 'ines', displayName: 'Ines Insider', email: 'ines@example.com' }]);
    await as('sandbox-admin').put('/api/settings/recipients', { allowedDomains: [], blockedDomains: [] });
    expect((await as('alice').get('/api/recipients?query=Outsider')).body).toHaveLength(2);
  });
});
