import { join } from 'node:path';
import PostalMime from 'postal-mime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, bearer, recording } from '../support/api';
import { dumpDatabase, readAllFiles } from '../support/privacy';
import { createMysqlDatabase, databaseKinds, startServer, type RunningServer } from '../support/server';
import { startTestSmtpServer, type TestSmtpServer } from '../support/smtp';
import { createTestCa, testCaFile } from '../support/tls';

// Two real PNGs (1x1) and an attachment with a marker that must never reach the database or a log.
const PNG_A = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
const PNG_B = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64');
const ATTACHMENT = Buffer.from('%PDF-1.4\nATTACHMENT-SECRET-BYTES-7f3a\n%%EOF\n');
const TITLE = 'Quarterly plan Zephyr-4411';
const BODY_TEXT = 'Confidential body text Mauve-9921';
const PASSWORD = 'smtp-pass-Q8v!x';
const TO = 'ann.to@example.org';
const CC = 'cid.cc@example.org';
const BCC = 'hidden.bcc@example.org';

const html = `<html><head><style>h1 { color: #0052cc; } .lead { font-weight: bold; }</style></head><body>
<h1>${TITLE}</h1><p class="lead">${BODY_TEXT}</p>
<p><img src="data:image/png;base64,${PNG_A.toString('base64')}" alt="chart"></p>
<p><img src="cid:diagram.png" alt="diagram"></p>
<script>alert(1)</script><a href="javascript:alert(1)" onclick="x()">bad link</a></body></html>`;

describe.each(databaseKinds())('sending a page end to end on %s', (kind) => {
  let smtp: TestSmtpServer;
  let server: RunningServer;
  let dropDb: (() => Promise<void>) | undefined;
  let dbUrl: string | undefined;
  let api: ReturnType<typeof apiClient>;
  const responses: string[] = [];

  beforeAll(async () => {
    const ca = createTestCa();
    smtp = await startTestSmtpServer({ tls: { key: ca.keyPem, cert: ca.certPem }, users: { mailer: PASSWORD }, banner: 'BANNER-MARKER-Xy' });
    if (kind === 'mysql') ({ url: dbUrl, drop: dropDb } = await createMysqlDatabase());
    // The server trusts the test CA the way an operator would add a private CA: NODE_EXTRA_CA_CERTS.
    server = await startServer({ DATABASE_URL: dbUrl, NODE_EXTRA_CA_CERTS: testCaFile(ca) });
    api = recording(apiClient(server.url, bearer(server.localToken)), responses);
  });

  afterAll(async () => {
    await server?.stop();
    await smtp?.close();
    await dropDb?.();
  });

  const settings = (over: Record<string, unknown> = {}) => ({
    senderName: 'Docs Team',
    senderAddress: 'docs@example.com',
    subjectPrefix: '[Wiki]',
    server: { mode: 'custom', host: '127.0.0.1', port: smtp.port, security: 'starttls', auth: { type: 'password', username: 'mailer', password: PASSWORD }, ...over },
  });

  it('saves the mail settings and never answers the password', async () => {
    const put = await api.put('/api/settings/mail', settings());
    expect(put.status).toBe(200);
    expect(put.body.server.auth).toEqual({ type: 'password', username: 'mailer', passwordSet: true });
    const get = await api.get('/api/settings/mail');
    expect(get.status).toBe(200);
    expect(get.body).toMatchObject({ configured: true, senderName: 'Docs Team', subjectPrefix: '[Wiki]' });
    expect(get.text).not.toContain(PASSWORD);
    expect(get.headers.get('cache-control')).toBe('no-store');
  });

  it('tests the connection: STARTTLS with the CA, then AUTH', async () => {
    const r = await api.post('/api/settings/mail/verify', {});
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: true, steps: ['connect', 'tls', 'auth'] });
  });

  it('sends a page with two images and an attachment to to, cc and bcc', async () => {
    const form = new FormData();
    form.append('title', TITLE);
    form.append('html', html);
    form.append('to', TO);
    form.append('cc', `"Cid Cc" <${CC}>`);
    form.append('bcc', BCC);
    form.append('images', new Blob([PNG_B], { type: 'image/png' }), 'diagram.png');
    form.append('attachments', new Blob([ATTACHMENT], { type: 'application/pdf' }), 'plan.pdf');
    const before = smtp.mails.length;
    const r = await api.post('/api/mail/send', form, { 'idempotency-key': `send-${kind}-1` });
    expect(r.status).toBe(200);
    expect(r.body.accepted).toEqual([TO, CC, BCC]);
    expect(r.body.rejected).toEqual([]);
    expect(r.body.encryption).toBe('none');
    expect(smtp.mails.length).toBe(before + 1);

    const got = smtp.mails[smtp.mails.length - 1];
    expect(got.envelope.from).toBe('docs@example.com');
    expect(got.envelope.to).toEqual([TO, CC, BCC]);
    const raw = got.raw.toString('latin1');
    expect(raw).not.toMatch(/^bcc:/im);
    expect(raw).not.toContain(BCC);

    const mail = await PostalMime.parse(got.raw);
    expect(mail.from).toMatchObject({ name: 'Docs Team', address: 'docs@example.com' });
    expect(mail.subject).toBe(`[Wiki] ${TITLE}`);
    expect(mail.messageId).toBe(r.body.messageId);
    expect(mail.to?.map((a) => a.address)).toEqual([TO]);
    expect(mail.cc?.map((a) => a.address)).toEqual([CC]);
    expect(mail.html).toContain(BODY_TEXT);
    expect(mail.html).toMatch(/<h1[^>]*style="[^"]*color:\s*#0052cc/i);
    expect(mail.html).not.toMatch(/<script|javascript:|onclick/i);
    expect(mail.text).toContain(BODY_TEXT);

    const cids = [...mail.html!.matchAll(/src="cid:([^"]+)"/g)].map((m) => m[1]);
    expect(cids).toHaveLength(2);
    const byCid = new Map(mail.attachments.filter((a) => a.contentId).map((a) => [a.contentId!.replace(/^<|>$/g, ''), a]));
    for (const cid of cids) expect(byCid.has(cid)).toBe(true);
    const inlineBytes = cids.map((c) => Buffer.from(byCid.get(c)!.content as ArrayBuffer));
    expect(inlineBytes.some((b) => b.equals(PNG_A))).toBe(true);
    expect(inlineBytes.some((b) => b.equals(PNG_B))).toBe(true);
    const pdf = mail.attachments.find((a) => a.filename === 'plan.pdf');
    expect(pdf).toBeDefined();
    expect(Buffer.from(pdf!.content as ArrayBuffer).equals(ATTACHMENT)).toBe(true);
  });

  it('sends once for a repeated Idempotency-Key and answers the first result', async () => {
    const body = { title: 'Idempotent page', html: '<p>once</p>', to: [TO], bcc: [BCC] };
    const before = smtp.mails.length;
    const first = await api.post('/api/mail/send', body, { 'idempotency-key': `idem-${kind}` });
    const second = await api.post('/api/mail/send', body, { 'idempotency-key': `idem-${kind}` });
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(smtp.mails.length).toBe(before + 1);
    const reused = await api.post('/api/mail/send', { ...body, title: 'Another page' }, { 'idempotency-key': `idem-${kind}` });
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(smtp.mails.length).toBe(before + 1);
    const status = await api.get(`/api/mail/sends/${first.body.sendId}`);
    expect(status.body).toMatchObject({ status: 'sent', recipientCount: 2, acceptedCount: 2, rejectedCount: 0 });
  });

  it('keeps no title, body, attachment or address in the database, the data folder or the logs', async () => {
    const dump = await dumpDatabase(kind === 'mysql' ? { type: 'mysql', url: dbUrl! } : { type: 'sqlite', path: join(server.dataDir, 'mailpage.sqlite') });
    expect(dump).toContain('sends');
    const files = readAllFiles(server.dataDir).toString('latin1');
    const logs = server.output();
    expect(logs).toMatch(/"level":10/); // trace level was really on
    for (const secret of [TITLE, 'Zephyr-4411', BODY_TEXT, 'Mauve-9921', 'ATTACHMENT-SECRET-BYTES-7f3a', TO, CC, BCC, 'plan.pdf', 'diagram.png', PASSWORD]) {
      expect(dump, `database holds ${secret}`).not.toContain(secret);
      expect(files, `data folder holds ${secret}`).not.toContain(secret);
      expect(logs, `logs hold ${secret}`).not.toContain(secret);
    }
    for (const r of responses) expect(r).not.toContain(PASSWORD);
  });

  it('names a wrong password, a refused connection and a server without STARTTLS with their own codes', async () => {
    const wrong = await api.post('/api/settings/mail/verify', { settings: settings({ auth: { type: 'password', username: 'mailer', password: 'nope' } }) });
    expect(wrong.status).toBe(502);
    expect(wrong.body.code).toBe('SMTP_AUTH_FAILED');
    expect(wrong.text).not.toContain('BANNER-MARKER');

    const closed = await startTestSmtpServer();
    const closedPort = closed.port;
    await closed.close();
    const refused = await api.post('/api/settings/mail/verify', { settings: settings({ port: closedPort }) });
    expect(refused.body.code).toBe('SMTP_CONNECT_FAILED');
    expect(refused.body.message).toContain(`127.0.0.1:${closedPort}`);

    const plain = await startTestSmtpServer({ users: { mailer: PASSWORD } });
    try {
      const noTls = await api.post('/api/settings/mail/verify', { settings: settings({ port: plain.port }) });
      expect(noTls.body.code).toBe('SMTP_TLS_FAILED');
      // A send with the same settings fails the same way and nothing is delivered.
      await api.put('/api/settings/mail', settings({ port: plain.port }));
      const send = await api.post('/api/mail/send', { title: 'x', html: '<p>x</p>', to: [TO] });
      expect(send.body.code).toBe('SMTP_TLS_FAILED');
      expect(plain.mails).toHaveLength(0);
    } finally {
      await plain.close();
      await api.put('/api/settings/mail', settings());
    }
  });

  it('keeps the saved password only while the host stays the same', async () => {
    await api.put('/api/settings/mail', settings());
    const samePassword = settings({ auth: { type: 'password', username: 'mailer' } });
    expect((await api.put('/api/settings/mail', samePassword)).body.server.auth.passwordSet).toBe(true);
    const otherHost = settings({ host: 'localhost', auth: { type: 'password', username: 'mailer' } });
    expect((await api.put('/api/settings/mail', otherHost)).body.server.auth.passwordSet).toBe(false);
    const back = settings({ auth: { type: 'password', username: 'mailer' } });
    expect((await api.put('/api/settings/mail', back)).body.server.auth.passwordSet).toBe(false);
    await api.put('/api/settings/mail', settings());
  });
});
