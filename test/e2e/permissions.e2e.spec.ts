import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfluenceSandbox } from '../../server/src/local/sandbox/confluence-sandbox';
import { DEMO_APP_ID } from '../../server/src/local/sandbox/demo-site';
import { apiClient } from '../support/api';
import { createMysqlDatabase, databaseKinds, startServer, type RunningServer } from '../support/server';
import { startTestSmtpServer, type TestSmtpServer } from '../support/smtp';

const TENANT = '7e7a7e7a-0000-4000-8000-0000000000a1';
const TITLE = 'Permission matrix page Quokka-552';

describe.each(databaseKinds())('who may send, end to end on %s', (kind) => {
  let platform: ConfluenceSandbox;
  let smtp: TestSmtpServer;
  let server: RunningServer;
  let dropDb: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    platform = await new ConfluenceSandbox().start();
    smtp = await startTestSmtpServer();
    let dbUrl: string | undefined;
    if (kind === 'mysql') ({ url: dbUrl, drop: dropDb } = await createMysqlDatabase());
    server = await startServer({ FORGE_JWKS_URL: `${platform.origin}/.well-known/jwks.json`, FORGE_APP_ID: DEMO_APP_ID, DATABASE_URL: dbUrl });
    const admin = as('sandbox-admin');
    const saved = await admin.put('/api/settings/mail', { senderName: 'Wiki', senderAddress: 'wiki@example.com', subjectPrefix: '[Wiki]', server: { mode: 'custom', host: '127.0.0.1', port: smtp.port, security: 'none' } });
    expect(saved.status).toBe(200);
  });
  afterAll(async () => {
    await server?.stop();
    await smtp?.close();
    await platform?.stop();
    await dropDb?.();
  });

  /** A user calling from the content action of a page in `space` (the token's context names the space). */
  const as = (accountId: string, space?: string) =>
    apiClient(server.url, () => platform.invocationHeaders(accountId, { installationId: TENANT, context: space ? { extension: { space: { key: space }, content: { id: space === 'DOCS' ? '163845' : '196613' } } } : {} }));

  const trySend = async (accountId: string, space: string, bodySpace = space) => {
    const before = smtp.mails.length;
    const r = await as(accountId, space).post('/api/mail/send', { title: TITLE, html: '<p>matrix</p>', to: ['reader@example.org'], spaceKey: bodySpace });
    return { status: r.status, body: r.body, delivered: smtp.mails.length - before };
  };
  const setGlobal = async (rule: object) => expect((await as('sandbox-admin').put('/api/permissions', rule)).status).toBe(200);

  it('global off: nobody sends, and the message says why', async () => {
    await setGlobal({ enabled: false, allowedGroups: [], enforceInAllSpaces: false });
    const r = await trySend('alice', 'DOCS');
    expect(r).toMatchObject({ status: 403, delivered: 0 });
    expect(r.body.message).toMatch(/turned off/);
  });

  it('global on for a group: members send, others are told which group may', async () => {
    await setGlobal({ enabled: true, allowedGroups: ['writers'], enforceInAllSpaces: false });
    expect(await trySend('alice', 'DOCS')).toMatchObject({ status: 200, delivered: 1 });
    const bob = await trySend('bob', 'ENG');
    expect(bob).toMatchObject({ status: 403, delivered: 0 });
    expect(bob.body.message).toContain('"writers"');
    expect(bob.body.details.allowedGroups).toEqual(['writers']);
  });

  it('a space admin who is not a site admin restricts their own space, and only it', async () => {
    await setGlobal({ enabled: true, allowedGroups: [], enforceInAllSpaces: false });
    const alice = as('alice', 'DOCS');
    expect((await alice.put('/api/spaces/DOCS/permissions', { enabled: true, allowedGroups: ['marketing'] })).status).toBe(200);
    expect((await alice.put('/api/spaces/ENG/permissions', { enabled: false, allowedGroups: [] })).status).toBe(403);
    expect((await alice.put('/api/permissions', { enabled: false, allowedGroups: [], enforceInAllSpaces: false })).status).toBe(403);
    expect((await alice.get('/api/permissions')).status).toBe(403);

    const aliceSend = await trySend('alice', 'DOCS');
    expect(aliceSend).toMatchObject({ status: 403, delivered: 0 });
    expect(aliceSend.body.message).toContain('"marketing"');
    expect(await trySend('dave', 'DOCS')).toMatchObject({ status: 200, delivered: 1 });
    expect(await trySend('bob', 'ENG')).toMatchObject({ status: 200, delivered: 1 });
    // The space comes from the verified token, not from the body: naming another space does not escape the rule.
    expect(await trySend('alice', 'DOCS', 'ENG')).toMatchObject({ status: 403, delivered: 0 });

    const me = await as('alice').get('/api/me?spaceKey=DOCS');
    expect(me.body).toMatchObject({ canSend: false, isSiteAdmin: false });
    expect(me.body.cannotSendReason).toContain('marketing');
    expect((await as('dave').get('/api/me?spaceKey=DOCS')).body.canSend).toBe(true);
  });

  it('enforce in all spaces: the global rule wins and space rules are locked', async () => {
    await setGlobal({ enabled: true, allowedGroups: ['writers'], enforceInAllSpaces: true });
    expect(await trySend('alice', 'DOCS')).toMatchObject({ status: 200, delivered: 1 });
    expect(await trySend('dave', 'DOCS')).toMatchObject({ status: 403, delivered: 0 });
    const view = await as('alice', 'DOCS').get('/api/spaces/DOCS/permissions');
    expect(view.body).toMatchObject({ spaceKey: 'DOCS', allowedGroups: ['marketing'], enforcedGlobally: true, editable: false });
    expect((await as('alice', 'DOCS').put('/api/spaces/DOCS/permissions', { enabled: true, allowedGroups: [] })).status).toBe(403);
  });

  it('keeps an audit row per attempt, newest first, with paging and filters, and no content in it', async () => {
    const admin = as('sandbox-admin');
    const all: any[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await admin.get(`/api/audit?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.entries.length).toBeLessThanOrEqual(2);
      all.push(...page.body.entries);
      cursor = page.body.nextCursor;
    } while (cursor);
    // 4 sent and 5 refused above.
    expect(all.filter((e) => e.outcome === 'sent')).toHaveLength(4);
    expect(all.filter((e) => e.errorCode === 'FORBIDDEN')).toHaveLength(5);
    const times = all.map((e) => e.createdAt);
    expect([...times].sort().reverse()).toEqual(times);
    expect(all[0]).toMatchObject({ recipientCount: 1, encryption: 'none' });
    const text = JSON.stringify(all);
    for (const secret of [TITLE, 'Quokka', 'reader@example.org', 'matrix']) expect(text).not.toContain(secret);

    const sentInDocs = await admin.get('/api/audit?outcome=sent&spaceKey=DOCS');
    expect(sentInDocs.body.entries).toHaveLength(3);
    const future = await admin.get('/api/audit?from=2999-01-01');
    expect(future.body.entries).toHaveLength(0);
    expect((await admin.get('/api/audit?outcome=maybe')).status).toBe(400);
    expect((await as('alice').get('/api/audit')).status).toBe(403);
  });
});
