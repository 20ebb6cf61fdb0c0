import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, bearer } from '../support/api';
import { startServer, type RunningServer } from '../support/server';

/**
 * Bad input gets a clear 4xx naming what is wrong, and nothing reaches the mail server. The full corpus (header
 * fields, addresses, sizes, multipart, content, TLS, headers, logs) is in test/e2e/hardening/.
 */
describe('bad input to POST /api/mail/send', () => {
  let server: RunningServer;
  let api: ReturnType<typeof apiClient>;
  const outboxSize = async () => (await api.get('/api/local/outbox')).body.length as number;

  beforeAll(async () => {
    server = await startServer({ MAIL_MAX_BYTES: String(1024 * 1024), SEND_SYNC_TIMEOUT_MS: '0' });
    api = apiClient(server.url, bearer(server.localToken));
  });
  afterAll(async () => server?.stop());

  const ok = { title: 'Fine', html: '<p>fine</p>', to: ['ann@example.com'] };

  it.each([
    ['a line feed in the title', { ...ok, title: 'Hi\nBcc: x@evil.example' }, /title contains a line feed/],
    ['a carriage return in the title', { ...ok, title: 'Hi\r' }, /title contains a carriage return/],
    ['a NUL in the title', { ...ok, title: 'Hi\u0000' }, /title contains a NUL/],
    ['a line separator in the title', { ...ok, title: 'Hi\u2028there' }, /U\+2028/],
    ['a right-to-left override in the title', { ...ok, title: 'invoice\u202Efdp.exe' }, /U\+202E/],
    ['two addresses in one recipient', { ...ok, to: ['a@example.com, b@example.com'] }, /to\[0\]/],
    ['a quoted local part that hides an address', { ...ok, to: ['"a@gmail.com x"@internal.example'] }, /to\[0\]/],
    ['a line feed in a recipient name', { ...ok, cc: ['Ann\n <ann@example.com>'] }, /cc\[0\].*line feed/],
    ['no recipient', { ...ok, to: [] }, /at least one recipient/],
    ['101 recipients', { ...ok, to: Array.from({ length: 101 }, (_, i) => `r${i}@example.com`) }, /at most 100 recipients/],
    ['an unknown field "raw"', { ...ok, raw: 'From: x' }, /unknown field\(s\) "raw"/],
    ['unknown fields "headers" and "envelope"', { ...ok, headers: { Bcc: 'x' }, envelope: { to: ['x@example.com'] } }, /"headers", "envelope"/],
    ['a title that is not a string', { ...ok, title: 42 }, /title must be a string/],
    ['an unknown encryption', { ...ok, encryption: 'rot13' }, /encryption/],
  ])('refuses %s', async (_, body, message) => {
    const before = await outboxSize();
    const r = await api.post('/api/mail/send', body);
    expect(r.status).toBe(400);
    expect(r.body.code).toMatch(/VALIDATION_FAILED|TOO_MANY_RECIPIENTS/);
    expect(r.body.message).toMatch(message);
    expect(await outboxSize()).toBe(before);
  });

  it('refuses a mail over the size limit with 413 and the sizes', async () => {
    const before = await outboxSize();
    const form = new FormData();
    form.append('title', 'Big');
    form.append('html', '<p>big</p>');
    form.append('to', 'ann@example.com');
    form.append('attachments', new Blob([Buffer.alloc(900 * 1024, 7)]), 'big.bin');
    const r = await api.post('/api/mail/send', form);
    expect(r.status).toBe(413);
    expect(r.body.code).toBe('MAIL_TOO_LARGE');
    expect(await outboxSize()).toBe(before);
  });

  it('refuses a JSON body larger than the service accepts', async () => {
    const r = await api.post('/api/mail/send', { ...ok, html: 'x'.repeat(3 * 1024 * 1024) });
    expect(r.status).toBe(413);
    expect(r.body.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('refuses malformed JSON and a malformed multipart body', async () => {
    const bad = await fetch(`${server.url}/api/mail/send`, { method: 'POST', headers: { ...bearer(server.localToken), 'content-type': 'application/json' }, body: '{"title":' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/not valid JSON/);
    const multipart = await fetch(`${server.url}/api/mail/send`, { method: 'POST', headers: { ...bearer(server.localToken), 'content-type': 'multipart/form-data; boundary=xyz' }, body: '--xyz\r\nContent-Disposition: form-data; name="title"\r\n\r\nunterminated' });
    expect(multipart.status).toBe(400);
    expect(((await multipart.json()) as { code: string }).code).toBe("VALIDATION_FAILED");
  });

  it('refuses an Idempotency-Key with characters outside the allowed set', async () => {
    const r = await api.post('/api/mail/send', ok, { 'idempotency-key': 'a b' });
    expect(r.status).toBe(400);
    expect(r.body.message).toMatch(/Idempotency-Key/);
  });

  it('answers 202 with a send id when a send outlasts the synchronous limit, and the status becomes sent', async () => {
    const r = await api.post('/api/mail/send', ok);
    expect([200, 202]).toContain(r.status);
    const sendId = r.body.sendId;
    let status = r.body.status ?? 'sent';
    for (let i = 0; i < 50 && status === 'sending'; i++) {
      await new Promise((res) => setTimeout(res, 50));
      status = (await api.get(`/api/mail/sends/${sendId}`)).body.status;
    }
    expect(status).toBe('sent');
    expect(r.status).toBe(202);
  });
});
