import PostalMime from 'postal-mime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfluenceSandbox } from '../../../server/src/local/sandbox/confluence-sandbox';
import { DEMO_APP_ID } from '../../../server/src/local/sandbox/demo-site';
import { apiClient } from '../../support/api';
import { createMysqlDatabase, databaseKinds, startServer, type RunningServer } from '../../support/server';
import { startTestSmtpServer, type TestSmtpServer } from '../../support/smtp';

const TENANT = '7e7a7e7a-0000-4000-8000-0000000000b2';
const GROUP = 'release-readers';
const MEMBERS = Array.from({ length: 250 }, (_, i) => `reader-${String(i).padStart(3, '0')}`);
/** Every 50th member (from the 8th) hides their address: five of them. */
const HIDDEN = MEMBERS.filter((_, i) => i % 50 === 7);

describe.each(databaseKinds())('a Confluence group as a recipient, end to end on %s', (kind) => {
  let platform: ConfluenceSandbox;
  let smtp: TestSmtpServer;
  let server: RunningServer;
  let dropDb: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    platform = await new ConfluenceSandbox().start();
    for (const id of MEMBERS) platform.addUser({ accountId: id, displayName: `Reader ${id.slice(7)}`, email: HIDDEN.includes(id) ? null : undefined });
    platform.setGroupMembers(GROUP, MEMBERS);
    smtp = await startTestSmtpServer();
    let dbUrl: string | undefined;
    if (kind === 'mysql') ({ url: dbUrl, drop: dropDb } = await createMysqlDatabase());
    server = await startServer({ FORGE_JWKS_URL: `${platform.origin}/.well-known/jwks.json`, FORGE_APP_ID: DEMO_APP_ID, DATABASE_URL: dbUrl, MAIL_MAX_RECIPIENTS: '100' });
    const saved = await as('sandbox-admin').put('/api/settings/mail', { senderName: 'Wiki', senderAddress: 'wiki@example.com', subjectPrefix: '', server: { mode: 'custom', host: '127.0.0.1', port: smtp.port, security: 'none' } });
    expect(saved.status).toBe(200);
  });
  afterAll(async () => {
    await server?.stop();
    await smtp?.close();
    await platform?.stop();
    await dropDb?.();
  });

  const as = (accountId: string) => apiClient(server.url, () => platform.invocationHeaders(accountId, { installationId: TENANT }));
  const mail = (extra: Record<string, unknown> = {}) => ({ title: 'Release notes Kestrel-31', html: '<p>Read before Friday.</p>', to: [], ...extra });

  it('shows the member count before sending, and finds the group by part of its name', async () => {
    const count = await as('alice').get(`/api/groups/${GROUP}/members/count`);
    expect(count).toMatchObject({ status: 200, body: { name: GROUP, count: 250 } });
    expect((await as('alice').get('/api/groups?query=release')).body).toEqual([{ name: GROUP }]);
    expect((await as('alice').get('/api/groups/no-such-group/members/count')).status).toBe(404);

    const preview = await as('alice').post('/api/mail/preview', mail({ bcc: [{ group: GROUP }] }));
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({ groups: [{ field: 'bcc', name: GROUP, members: 250, included: 250 }], parts: 3, skipped: [] });
    expect(preview.body.recipients.bcc).toHaveLength(250);
    expect(smtp.mails).toHaveLength(0);
  });

  it('sends a group of 250 with a limit of 100 as three mails whose envelopes hold every member exactly once', async () => {
    const r = await as('alice').post('/api/mail/send', mail({ bcc: [{ group: GROUP }] }), { 'Idempotency-Key': 'group-send-1' });
    expect(r.status).toBe(200);
    expect(smtp.mails).toHaveLength(3);
    for (const m of smtp.mails) expect(m.envelope.to.length).toBeLessThanOrEqual(100);
    const delivered = smtp.mails.flatMap((m) => m.envelope.to);
    expect(delivered).toHaveLength(250);
    expect(new Set(delivered).size).toBe(250);
    // Hidden addresses were read as the app, so nobody is missing.
    expect([...delivered].sort()).toEqual(MEMBERS.map((id) => `${id}@example.com`).sort());

    expect(r.body.parts).toHaveLength(3);
    expect(r.body.parts.map((p: any) => p.accepted.length)).toEqual([100, 100, 50]);
    expect(r.body.totals).toEqual({ parts: 3, recipients: 250, accepted: 250, rejected: 0, skipped: 0 });
    expect(r.body.sendId).toBe(r.body.parts[0].sendId);
    expect(r.body.accepted).toHaveLength(250);
    // Each mail is its own message, and bcc recipients never appear in a header.
    const parsed = await Promise.all(smtp.mails.map((m) => PostalMime.parse(m.raw)));
    expect(new Set(parsed.map((p) => p.messageId)).size).toBe(3);
    for (const p of parsed) {
      expect(p.subject).toBe('Release notes Kestrel-31');
      expect(p.headers.find((h) => h.key === 'bcc')).toBeUndefined();
    }
    expect(parsed.map((p) => p.messageId)).toEqual(r.body.parts.map((p: any) => p.messageId));
  });

  it('replays every part for the same Idempotency-Key, and sends nothing again', async () => {
    const before = smtp.messagesReceived;
    const again = await as('alice').post('/api/mail/send', mail({ bcc: [{ group: GROUP }] }), { 'Idempotency-Key': 'group-send-1' });
    expect(again.status).toBe(200);
    expect(smtp.messagesReceived).toBe(before);
    expect(again.body.parts.map((p: any) => p.sendId)).toHaveLength(3);
    expect(again.body.totals).toEqual({ parts: 3, recipients: 250, accepted: 250, rejected: 0, skipped: 0 });
    const other = await as('alice').post('/api/mail/send', mail({ bcc: [{ group: GROUP }], title: 'Another mail' }), { 'Idempotency-Key': 'group-send-1' });
    expect(other.status).toBe(422);
  });

  it('writes one audit row per mail', async () => {
    const audit = await as('sandbox-admin').get('/api/audit?limit=10');
    const sent = audit.body.entries.filter((e: any) => e.outcome === 'sent');
    expect(sent.map((e: any) => e.recipientCount).sort()).toEqual([100, 100, 50]);
    expect(new Set(sent.map((e: any) => e.messageId)).size).toBe(3);
  });

  it('reports members whose address it may not read, with the reason, and sends to the others', async () => {
    platform.emailApi = 'not-approved';
    try {
      const before = smtp.mails.length;
      const r = await as('alice').post('/api/mail/send', mail({ to: ['lead@example.com'], cc: [{ group: GROUP }] }));
      expect(r.status).toBe(200);
      expect(r.body.skipped.map((s: any) => s.accountId).sort()).toEqual([...HIDDEN].sort());
      for (const s of r.body.skipped) expect(s).toMatchObject({ group: GROUP, displayName: expect.stringMatching(/^Reader /), reason: expect.stringContaining('hides their email address') });
      expect(r.body.totals).toEqual({ parts: 3, recipients: 246, accepted: 246, rejected: 0, skipped: 5 });
      // Nobody is lost silently: every member was either sent to or reported.
      const delivered = smtp.mails.slice(before).flatMap((m) => m.envelope.to);
      expect(delivered).toHaveLength(246);
      const reached = new Set(delivered.map((a) => a.split('@')[0]));
      for (const id of MEMBERS) expect(reached.has(id) !== HIDDEN.includes(id)).toBe(true);
      // The group went to Cc: each mail's Cc header names that mail's members only.
      const ccs = (await Promise.all(smtp.mails.slice(before).map((m) => PostalMime.parse(m.raw)))).map((p) => (p.cc ?? []).length);
      expect(ccs.reduce((a, b) => a + b, 0)).toBe(245);
    } finally {
      platform.emailApi = 'approved';
    }
  });

  it('refuses a group that does not exist, naming it, and sends nothing', async () => {
    const before = smtp.messagesReceived;
    const r = await as('alice').post('/api/mail/send', mail({ to: ['ann@example.com'], cc: [{ group: 'no-such-group' }] }));
    expect(r.status).toBe(400);
    expect(r.body.message).toContain('"no-such-group"');
    expect(r.body.details.recipients[0]).toMatch(/^cc\[0\]/);
    expect(smtp.messagesReceived).toBe(before);
  });
});
