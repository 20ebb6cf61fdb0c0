import { join } from 'node:path';
import PostalMime, { type Email } from 'postal-mime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfluenceSandbox } from '../../../server/src/local/sandbox/confluence-sandbox';
import { DEMO_APP_ID, makePng } from '../../../server/src/local/sandbox/demo-site';
import { apiClient } from '../../support/api';
import { dumpDatabase, readAllFiles } from '../../support/privacy';
import { createMysqlDatabase, databaseKinds, startServer, type RunningServer } from '../../support/server';
import { startTestSmtpServer, type TestSmtpServer } from '../../support/smtp';

const TENANT = '7e7a7e7a-0000-4000-8000-0000000000b4';
const LOGO = makePng(96, 32, (x, y) => [(x * 3) % 256, 82, y * 6]);
const MESSAGE = 'Hi team <all>,\nplease read this before Friday & reply. Marker-Ocelot-77';

describe.each(databaseKinds())('the mail layout, end to end on %s', (kind) => {
  let platform: ConfluenceSandbox;
  let smtp: TestSmtpServer;
  let server: RunningServer;
  let dropDb: (() => Promise<void>) | undefined;
  let dbUrl: string | undefined;

  beforeAll(async () => {
    platform = await new ConfluenceSandbox().start();
    smtp = await startTestSmtpServer();
    if (kind === 'mysql') ({ url: dbUrl, drop: dropDb } = await createMysqlDatabase());
    server = await startServer({ FORGE_JWKS_URL: `${platform.origin}/.well-known/jwks.json`, FORGE_APP_ID: DEMO_APP_ID, DATABASE_URL: dbUrl });
    const saved = await admin().put('/api/settings/mail', { senderName: 'Wiki', senderAddress: 'wiki@example.com', subjectPrefix: '[Wiki]', server: { mode: 'custom', host: '127.0.0.1', port: smtp.port, security: 'none' } });
    expect(saved.status).toBe(200);
  });
  afterAll(async () => {
    await server?.stop();
    await smtp?.close();
    await platform?.stop();
    await dropDb?.();
  });

  /** A user in the send dialog of "Getting started" (page 163845, space DOCS): the token's context names both. */
  const as = (accountId: string) =>
    apiClient(server.url, () => platform.invocationHeaders(accountId, { installationId: TENANT, context: { extension: { space: { key: 'DOCS' }, content: { id: '163845' } } } }));
  const admin = () => apiClient(server.url, () => platform.invocationHeaders('sandbox-admin', { installationId: TENANT }));
  const layout = (over: Record<string, unknown> = {}) => ({
    headerText: 'Acme Documentation',
    logo: { contentType: 'image/png', dataBase64: LOGO.toString('base64') },
    footerTemplate: 'Sent by {sender} from “{page}” in {space} on {date}.\nOpen it: {link}',
    customCss: '.mailpage-header { color: #ff5630; } h1 { color: #00875a; }',
    includePageLink: true,
    allowSpaceOverrides: true,
    ...over,
  });
  async function sendPage(accountId: string, body: Record<string, unknown>): Promise<{ status: number; body: any; received: Email; rawHeaders: string }> {
    const before = smtp.mails.length;
    const r = await as(accountId).post('/api/mail/send', { to: ['reader@example.org'], ...body });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(smtp.mails).toHaveLength(before + 1);
    const raw = smtp.mails.at(-1)!.raw;
    return { ...r, received: await PostalMime.parse(raw), rawHeaders: raw.toString('latin1').split('\r\n\r\n')[0] };
  }

  it.each([
    ['p { width: expression(alert(1)) }', 'expression('],
    ['p { background: url(javascript:alert(1)) }', 'url(javascript:'],
    ['@import url("https://evil.example/x.css");', '@import'],
    ['p { behavior: url(x.htc) }', 'behavior'],
    ['p { -moz-binding: url(x.xml) }', '-moz-binding'],
  ])('refuses custom CSS with %s, naming %s', async (css, construct) => {
    const r = await admin().put('/api/settings/layout', layout({ customCss: css }));
    expect(r.status).toBe(400);
    expect(r.body.message).toContain(construct);
    expect(r.body.details.issues[0].path).toBe('customCss');
  });

  it('saves the layout for site admins only, and previews it with the logo', async () => {
    expect((await as('alice').put('/api/settings/layout', layout())).status).toBe(403);
    const put = await admin().put('/api/settings/layout', layout());
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ headerText: 'Acme Documentation', logo: { contentType: 'image/png', size: LOGO.length }, includePageLink: true, allowSpaceOverrides: true });
    expect(put.text).not.toContain(LOGO.toString('base64'));
    const preview = await admin().post('/api/settings/layout/preview', {});
    expect(preview.status).toBe(200);
    expect(preview.body.html).toContain(`data:image/png;base64,${LOGO.toString('base64')}`);
    expect(preview.body.text).toContain('Acme Documentation');
    // An unsaved form is previewed as it stands.
    const unsaved = await admin().post('/api/settings/layout/preview', { layout: layout({ headerText: 'Not saved yet', logo: null }) });
    expect(unsaved.body.text).toContain('Not saved yet');
    expect(unsaved.body.html).not.toContain('data:image/png');
    expect((await admin().get('/api/settings/layout')).body.headerText).toBe('Acme Documentation');
  });

  it('frames the page: header with the logo as a CID part, the footer placeholders filled, the site CSS inlined', async () => {
    const { received } = await sendPage('alice', {});
    const html = received.html ?? '';
    const logo = received.attachments.find((a) => a.disposition === 'inline' && Buffer.from(a.content as ArrayBuffer).equals(LOGO));
    expect(logo).toBeDefined();
    expect(logo!.mimeType).toBe('image/png');
    const cid = logo!.contentId!.replace(/^<|>$/g, '');
    expect(html).toContain(`src="cid:${cid}"`);
    expect(html.indexOf('Acme Documentation')).toBeLessThan(html.indexOf('Welcome to the documentation'));
    expect(html).toMatch(/<h1[^>]*style="[^"]*color: ?#00875a/);

    const text = (received.text ?? '').replace(/\s+/g, ' ');
    const date = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date());
    const link = `${platform.wikiBaseUrl}/spaces/DOCS/pages/163845/Getting+started`;
    expect(text).toContain(`Sent by Alice Writer from “Getting started” in DOCS on ${date}. Open it: ${link}`);
    expect(html).toContain(`>Open this page in Confluence</a>`);
    expect(text).not.toMatch(/\{(sender|page|space|date|link)\}/);
  });

  it('shows the personal message above the page, escaped, and sets Reply-To to the sender', async () => {
    const { received } = await sendPage('alice', { message: MESSAGE, replyToMe: true });
    const html = received.html ?? '';
    expect(html).toContain('Hi team &lt;all&gt;,<br>please read this before Friday &amp; reply. Marker-Ocelot-77');
    expect(html.indexOf('Marker-Ocelot-77')).toBeLessThan(html.indexOf('Welcome to the documentation'));
    expect(received.text).toContain('Hi team <all>,');
    expect(received.replyTo).toEqual([{ name: 'Alice Writer', address: 'alice@example.com' }]);
  });

  it('reads a hidden address as the app for Reply-To me, and says so when it may not', async () => {
    const { received } = await sendPage('carol', { replyToMe: true });
    expect(received.replyTo?.[0].address).toBe('carol@example.com');
    platform.emailApi = 'not-approved';
    try {
      const before = smtp.messagesReceived;
      const r = await as('carol').post('/api/mail/send', { to: ['reader@example.org'], replyToMe: true });
      expect(r.status).toBe(400);
      expect(r.body.details.issues[0].path).toBe('replyToMe');
      expect(smtp.messagesReceived).toBe(before);
    } finally {
      platform.emailApi = 'approved';
    }
  });

  it("uses the space's sender name, Reply-To and subject prefix while the site allows it", async () => {
    const put = await as('alice').put('/api/spaces/DOCS/mail', { senderName: 'Docs Team', replyTo: 'docs-team@example.com', subjectPrefix: '[DOCS]' });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ allowed: true, editable: true });
    expect((await as('bob').put('/api/spaces/DOCS/mail', { senderName: 'Bob' })).status).toBe(403);
    expect((await as('bob').get('/api/spaces/DOCS/mail')).body).toMatchObject({ senderName: 'Docs Team', editable: false });

    let { received } = await sendPage('alice', {});
    expect(received.from).toEqual({ name: 'Docs Team', address: 'wiki@example.com' });
    expect(received.replyTo).toEqual([{ name: '', address: 'docs-team@example.com' }]);
    expect(received.subject).toBe('[DOCS] Getting started');
    // Reply-To me wins over the space's Reply-To.
    ({ received } = await sendPage('alice', { replyToMe: true }));
    expect(received.replyTo?.[0].address).toBe('alice@example.com');

    await admin().put('/api/settings/layout', layout({ allowSpaceOverrides: false }));
    ({ received } = await sendPage('alice', {}));
    expect(received.from).toEqual({ name: 'Wiki', address: 'wiki@example.com' });
    expect(received.replyTo).toBeUndefined();
    expect(received.subject).toBe('[Wiki] Getting started');
    expect((await as('alice').put('/api/spaces/DOCS/mail', { senderName: 'Docs Team' })).status).toBe(403);
  });

  it('keeps the personal message out of the database, the data folder and the logs', async () => {
    const dump = await dumpDatabase(kind === 'mysql' ? { type: 'mysql', url: dbUrl! } : { type: 'sqlite', path: join(server.dataDir, 'mailpage.sqlite') });
    expect(dump).toContain('Acme Documentation');
    expect(dump).not.toContain('Marker-Ocelot-77');
    expect(readAllFiles(server.dataDir).toString('latin1')).not.toContain('Marker-Ocelot-77');
    expect(server.output()).not.toContain('Marker-Ocelot-77');
  });
});
