import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, bearer } from '../../support/api';
import { pgpKey } from '../../support/crypto';
import { startServer, type RunningServer } from '../../support/server';
import { startTestSmtpServer, type TestSmtpServer } from '../../support/smtp';
import { multipart, postRaw } from './support';

// Every piece of content, identity and secret the sends below use. None may appear anywhere in the log.
const M = {
  title: 'Quarterly Ledger Marmot-6602',
  body: 'Body text Quokka-1193',
  note: 'Personal note Pangolin-4471',
  prefix: '[Prefix-Ferret-8820]',
  senderName: 'Sender Bison-3310',
  sender: 'sender.bison@example.com',
  to: 'ann.marmot@example.org',
  cc: 'cid.quokka@example.net',
  bcc: 'hidden.pangolin@example.com',
  idn: 'joerg@bücher-ibis.example',
  idnAscii: 'xn--bcher-ibis-9db.example',
  rejected: 'gone.vole@example.org',
  invalid: 'broken..okapi@example.org',
  lookalike: 'billing@pаypal-tapir.com',
  encrypted: 'crypt.walrus@example.org',
  attachment: 'Budget-Otter-2290.xlsx',
  attachmentBytes: 'ATTACHMENT-BYTES-Heron-7781',
  image: 'Diagram-Heron-5521.png',
  badFilename: 'Evil-Vole-3321',
  password: 'smtp-Pass-Falcon-9911',
  wrongPassword: 'wrong-Pass-Gecko-5512',
  smtpUser: 'mailer-Lynx-6631',
  idempotencyKey: 'idem-Tapir-4410',
  jsonFragment: 'Parse-Marker-Yak-1234',
  testRecipient: 'test.kudu@example.org',
};

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

/**
 * A broad set of sends at LOG_LEVEL=trace, plain and multipart, encrypted, replayed, refused and failed at the SMTP
 * server, then the whole log searched for every title, body, address, file name, password and token they used.
 */
describe('hardening: nothing of a mail reaches the log, at trace level', () => {
  let smtp: TestSmtpServer;
  let server: RunningServer;
  let api: ReturnType<typeof apiClient>;
  const statuses: Record<string, number> = {};
  let sendId = '';

  beforeAll(async () => {
    smtp = await startTestSmtpServer({ users: { [M.smtpUser]: M.password }, rejectRecipients: [M.rejected] });
    server = await startServer({ LOG_LEVEL: 'trace', SEND_SYNC_TIMEOUT_MS: '10000' });
    api = apiClient(server.url, bearer(server.localToken));
    const settings = {
      senderName: M.senderName,
      senderAddress: M.sender,
      subjectPrefix: M.prefix,
      server: { mode: 'custom', host: '127.0.0.1', port: smtp.port, security: 'none', auth: { type: 'password', username: M.smtpUser, password: M.password } },
    };
    const record = (name: string, status: number) => (statuses[name] = status);
    const json = { title: M.title, html: `<h1>${M.title}</h1><p>${M.body}</p>`, message: M.note, to: [M.to, M.idn], cc: [`"${M.senderName}" <${M.cc}>`], bcc: [M.bcc] };

    record('settings', (await api.put('/api/settings/mail', settings)).status);
    record('verify', (await api.post('/api/settings/mail/verify', { testRecipient: M.testRecipient })).status);
    record('verify with a wrong password', (await api.post('/api/settings/mail/verify', { settings: { ...settings, server: { ...settings.server, auth: { type: 'password', username: M.smtpUser, password: M.wrongPassword } } } })).status);
    const plain = await api.post('/api/mail/send', json, { 'idempotency-key': M.idempotencyKey });
    record('plain send', plain.status);
    sendId = plain.body.sendId;
    record('replay', (await api.post('/api/mail/send', json, { 'idempotency-key': M.idempotencyKey })).status);
    record('preview', (await api.post('/api/mail/preview', json)).status);
    const form = multipart([
      { name: 'title', value: M.title },
      { name: 'html', value: `<p>${M.body}</p><img src="cid:${M.image}">` },
      { name: 'to', value: M.to },
      { name: 'bcc', value: JSON.stringify([M.bcc]) },
      { name: 'attachments', filename: M.attachment, contentType: 'application/vnd.ms-excel', value: M.attachmentBytes },
      { name: 'images', filename: M.image, contentType: 'image/png', value: PNG },
    ]);
    record('multipart send', (await postRaw({ server }, '/api/mail/send', form.body, form.contentType)).status);

    const key = await pgpKey(M.encrypted);
    record('key', (await api.put('/api/settings/encryption/keys', { email: M.encrypted, kind: 'pgp', key: key.publicKey })).status);
    record('policy', (await api.put('/api/settings/encryption', { policy: 'opportunistic', preferred: 'pgp', sign: false })).status);
    record('encrypted send', (await api.post('/api/mail/send', { ...json, to: [M.encrypted], cc: [], bcc: [], encryption: 'pgp' })).status);

    record('rejected recipient', (await api.post('/api/mail/send', { ...json, to: [M.rejected], cc: [], bcc: [] })).status);
    record('invalid address', (await api.post('/api/mail/send', { ...json, to: [M.invalid] })).status);
    record('look-alike address', (await api.post('/api/mail/send', { ...json, to: [M.lookalike] })).status);
    const badFile = multipart([{ name: 'title', value: M.title }, { name: 'html', value: M.body }, { name: 'to', value: M.to }, { name: 'attachments', filenameStar: `utf-8''${M.badFilename}%0D%0A.pdf`, value: 'x' }]);
    record('bad file name', (await postRaw({ server }, '/api/mail/send', badFile.body, badFile.contentType)).status);
    record('bad JSON', (await postRaw({ server }, '/api/mail/send', `{"title":"${M.jsonFragment}`, 'application/json')).status);
    record('unknown field', (await api.post('/api/mail/send', { ...json, raw: `From: ${M.to}` })).status);
    record('wrong saved password', (await api.put('/api/settings/mail', { ...settings, server: { ...settings.server, auth: { type: 'password', username: M.smtpUser, password: M.wrongPassword } } })).status);
    record('send with a wrong password', (await api.post('/api/mail/send', json)).status);
  });
  afterAll(async () => {
    await server?.stop();
    await smtp?.close();
  });

  it('made the sends it meant to: delivered, encrypted, replayed, refused and failed', () => {
    expect(statuses).toEqual({
      settings: 200,
      verify: 200,
      'verify with a wrong password': 502,
      'plain send': 200,
      replay: 200,
      preview: 200,
      'multipart send': 200,
      key: 200,
      policy: 200,
      'encrypted send': 200,
      'rejected recipient': 422,
      'invalid address': 400,
      'look-alike address': 400,
      'bad file name': 400,
      'bad JSON': 400,
      'unknown field': 400,
      'wrong saved password': 200,
      'send with a wrong password': 502,
    });
    // The test mail, the plain send, the multipart send and the encrypted one; the markers really went out.
    expect(smtp.mails).toHaveLength(4);
    const received = smtp.mails.map((m) => m.raw.toString('latin1')).join('\n');
    for (const marker of [M.title, M.prefix, M.to, M.cc, M.idnAscii, M.attachment, M.image.replace('.png', '')]) expect(received).toContain(marker);
  });

  it('logged at trace level, and none of the content, addresses, file names, passwords or tokens', () => {
    const log = server.output();
    expect(log).toMatch(/"level":10/);
    const lines = log.split('\n').filter(Boolean);
    const json = lines.filter((l) => l.startsWith('{'));
    expect(json.length).toBeGreaterThan(50);
    // The sends were logged (by their ids): the search below looks at their lines.
    expect(log).toContain(sendId);
    console.log(`[figures] ${json.length} log lines searched for ${new Set(Object.values(M)).size} markers`);
    const markers = Object.values(M).flatMap((v) => [v, v.toLowerCase(), JSON.stringify(v).slice(1, -1)]);
    // Distinctive parts too: a log line could hold a domain or a name without the rest of the address.
    markers.push('Marmot-6602', 'Quokka-1193', 'Pangolin-4471', 'Ferret-8820', 'Bison-3310', 'marmot', 'quokka', 'pangolin', 'bücher-ibis', 'xn--bcher-ibis', 'vole', 'okapi', 'tapir', 'walrus', 'Otter-2290', 'Heron', 'Falcon-9911', 'Gecko-5512', 'Lynx-6631', 'Yak-1234', 'kudu');
    for (const marker of new Set(markers)) expect(log, `the log holds "${marker}"`).not.toContain(marker);
  });

  it('prints the local admin token once, in the start-up banner, and never logs it', () => {
    const log = server.output();
    expect(log.split(server.localToken)).toHaveLength(2);
    expect(log).toContain(`Local admin token: ${server.localToken}`);
    for (const line of log.split('\n').filter((l) => l.startsWith('{'))) expect(line).not.toContain(server.localToken);
  });
});
