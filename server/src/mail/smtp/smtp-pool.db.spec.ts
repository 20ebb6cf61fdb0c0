import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestSmtpServer, type TestSmtpServer, type TestSmtpServerOptions } from '../../../../test/support/smtp';
import { createTestCa, type TestCa } from '../../../../test/support/tls';
import { DomainError } from '../../common/domain-error';
import { SmtpPool, type SmtpPoolOptions } from './smtp-pool.service';
import type { SmtpTarget } from './smtp.types';

const BANNER = 'BANNER-MARKER-q8Zt';
// Reply texts of the test server: none of them may reach a person.
const SERVER_TEXTS = [BANNER, 'Mailbox unavailable', 'Invalid username or password', 'Message too large', 'not recognized', 'exceeds fixed'];
const USER = 'mailer';
const PASSWORD = 'pw-9f3c1e77';
const FROM = 'sender@example.com';
const TO = 'ann@example.com';
const BCC = 'hidden@example.com';

// Our own finished bytes: CRLF line ends, a line starting with a dot (dot-stuffed on the wire), no Bcc header.
const RAW = Buffer.from(
  [`From: Sender <${FROM}>`, `To: Ann <${TO}>`, 'Subject: Quarterly page', 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '', 'Hello Ann,', '.leading dot stays', 'Grüße', ''].join('\r\n'),
);

let ca: TestCa;
const servers: TestSmtpServer[] = [];
const pools: SmtpPool[] = [];

async function server(opts: TestSmtpServerOptions = {}): Promise<TestSmtpServer> {
  const s = await startTestSmtpServer({ banner: BANNER, ...opts });
  servers.push(s);
  return s;
}

function pool(opts: Partial<SmtpPoolOptions> = {}): SmtpPool {
  const p = new SmtpPool({
    allowPrivateHosts: true,
    connectionTimeoutMs: 3000,
    greetingTimeoutMs: 3000,
    socketTimeoutMs: 5000,
    maxPools: 10,
    // "localhost" resolves to the loopback IPv4 address only, so the certificate is checked by name.
    resolver: async () => ['127.0.0.1'],
    // Retrying stays on, with short waits: the retry policy itself is tested in smtp-retry.db.spec.ts.
    retry: { baseDelayMs: 10, maxDelayMs: 20 },
    ...opts,
  });
  pools.push(p);
  return p;
}

function target(port: number, over: Partial<SmtpTarget> = {}): SmtpTarget {
  return { key: 'tenant-1:rev-1', host: 'localhost', port, security: 'starttls', auth: { user: USER, pass: PASSWORD }, trustedCa: ca.caPem, ...over };
}

async function failure(p: Promise<unknown>): Promise<DomainError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DomainError);
  const domain = err as DomainError;
  const shown = JSON.stringify({ message: domain.message, details: domain.details });
  for (const text of [...SERVER_TEXTS, PASSWORD]) expect(shown).not.toContain(text);
  return domain;
}

beforeAll(() => {
  ca = createTestCa();
});

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

afterAll(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('SmtpPool against a real SMTP server', () => {
  let tlsServer: TestSmtpServer;
  beforeAll(async () => {
    tlsServer = await server({ tls: { key: ca.keyPem, cert: ca.certPem }, users: { [USER]: PASSWORD }, rejectRecipients: ['nobody@example.com', 'gone@example.com'] });
  });

  it('delivers our exact bytes over STARTTLS with a login, and a bcc recipient only in the envelope', async () => {
    const before = tlsServer.mails.length;
    const result = await pool().send(target(tlsServer.port), { from: FROM, to: [TO, BCC] }, RAW);
    expect(result).toEqual({ accepted: [TO, BCC], rejected: [], code: 250, attempts: 1 });
    expect(tlsServer.mails).toHaveLength(before + 1);
    const got = tlsServer.mails[tlsServer.mails.length - 1];
    expect(got.envelope).toEqual({ from: FROM, to: [TO, BCC] });
    expect(got.raw.equals(RAW)).toBe(true);
    expect(got.raw.toString('utf8')).not.toContain(BCC);
  });

  it('delivers over implicit TLS', async () => {
    const implicit = await server({ tls: { key: ca.keyPem, cert: ca.certPem }, secure: true, users: { [USER]: PASSWORD } });
    const result = await pool().send(target(implicit.port, { security: 'tls' }), { from: FROM, to: [TO] }, RAW);
    expect(result.code).toBe(250);
    expect(implicit.mails[0].raw.equals(RAW)).toBe(true);
  });

  it('reuses one connection for several mails to the same target', async () => {
    const fresh = await server({ tls: { key: ca.keyPem, cert: ca.certPem }, users: { [USER]: PASSWORD } });
    const p = pool();
    for (let i = 0; i < 3; i++) await p.send(target(fresh.port), { from: FROM, to: [TO] }, RAW);
    expect(fresh.mails).toHaveLength(3);
    expect(fresh.connectionCount).toBe(1);
  });

  it('names a wrong password as SMTP_AUTH_FAILED', async () => {
    const err = await failure(pool().send(target(tlsServer.port, { auth: { user: USER, pass: 'wrong' } }), { from: FROM, to: [TO] }, RAW));
    expect(err).toMatchObject({ code: 'SMTP_AUTH_FAILED', status: 502, details: { smtpCode: 535 } });
    expect(err.message).toBe('The mail server refused the username or password (reply 535).');
  });

  it('names a refused connection as SMTP_CONNECT_FAILED with the configured host and port', async () => {
    const closed = await startTestSmtpServer();
    const port = closed.port;
    await closed.close();
    const err = await failure(pool().send(target(port), { from: FROM, to: [TO] }, RAW));
    expect(err.code).toBe('SMTP_CONNECT_FAILED');
    expect(err.message).toBe(
      `Could not connect to localhost:${port}: the connection was refused. Check the host and port, and that the server accepts connections from this service. The message was not sent. Tried 3 times.`,
    );
  });

  it('refuses to go on in plain text when the server offers no STARTTLS', async () => {
    const plain = await server({ users: { [USER]: PASSWORD } });
    const err = await failure(pool().send(target(plain.port), { from: FROM, to: [TO] }, RAW));
    expect(err.code).toBe('SMTP_TLS_FAILED');
    expect(err.message).toContain('does not offer STARTTLS');
    expect(plain.mails).toHaveLength(0);
  });

  it('refuses a certificate from an authority it does not trust', async () => {
    const err = await failure(pool().send(target(tlsServer.port, { trustedCa: undefined }), { from: FROM, to: [TO] }, RAW));
    expect(err.code).toBe('SMTP_TLS_FAILED');
    expect(err.message).toContain('is not trusted');
  });

  it('checks the certificate against the typed name, not the address it connects to', async () => {
    const err = await failure(pool().send(target(tlsServer.port, { host: 'mail.example.test' }), { from: FROM, to: [TO] }, RAW));
    expect(err.code).toBe('SMTP_TLS_FAILED');
    expect(err.message).toContain('not valid for the name mail.example.test');
  });

  it('reports a recipient the server refused and delivers to the others', async () => {
    const before = tlsServer.mails.length;
    const result = await pool().send(target(tlsServer.port), { from: FROM, to: [TO, 'nobody@example.com'] }, RAW);
    expect(result).toEqual({ accepted: [TO], rejected: ['nobody@example.com'], code: 250, attempts: 1 });
    expect(tlsServer.mails[before].envelope.to).toEqual([TO]);
  });

  it('names every recipient refused as SMTP_RECIPIENT_REJECTED with the addresses', async () => {
    const err = await failure(pool().send(target(tlsServer.port), { from: FROM, to: ['nobody@example.com', 'gone@example.com'] }, RAW));
    expect(err).toMatchObject({ code: 'SMTP_RECIPIENT_REJECTED', status: 422, details: { smtpCode: 550, rejected: ['nobody@example.com', 'gone@example.com'] } });
  });

  it('names a message the server refuses after DATA as SMTP_MESSAGE_REJECTED', async () => {
    const small = await server({ size: 64 });
    const err = await failure(pool().send(target(small.port, { security: 'none', auth: null }), { from: FROM, to: [TO] }, RAW));
    expect(err).toMatchObject({ code: 'SMTP_MESSAGE_REJECTED', details: { smtpCode: 552 } });
  });

  it('says the outcome is unknown when the connection drops after the whole message was sent', async () => {
    const dropping = await server({ dropConnectionAt: 'DATA_END' });
    const err = await failure(pool().send(target(dropping.port, { security: 'none', auth: null }), { from: FROM, to: [TO] }, RAW));
    expect(err.code).toBe('SMTP_OUTCOME_UNKNOWN');
    expect(err.message).toContain('may or may not have been delivered');
  });

  it('says nothing was sent when the connection drops before the message', async () => {
    const dropping = await server({ dropConnectionAt: 'RCPT' });
    const err = await failure(pool().send(target(dropping.port, { security: 'none', auth: null }), { from: FROM, to: [TO] }, RAW));
    expect(err.code).toBe('SMTP_CONNECT_FAILED');
    expect(err.message).toContain('The message was not sent.');
  });

  it('refuses a loopback host before connecting unless private hosts are allowed', async () => {
    const watched = await server();
    const err = await failure(pool({ allowPrivateHosts: false }).send(target(watched.port, { host: '127.0.0.1' }), { from: FROM, to: [TO] }, RAW));
    expect(err.code).toBe('SMTP_HOST_NOT_ALLOWED');
    const byName = await failure(pool({ allowPrivateHosts: false }).verify(target(25)));
    expect(byName.code).toBe('SMTP_HOST_NOT_ALLOWED');
    expect(watched.connectionCount).toBe(0);
  });

  it('verifies connection, TLS and login on a connection of its own that it closes', async () => {
    const fresh = await server({ tls: { key: ca.keyPem, cert: ca.certPem }, users: { [USER]: PASSWORD } });
    const p = pool();
    await expect(p.verify(target(fresh.port))).resolves.toBeUndefined();
    await vi.waitFor(() => expect(fresh.openConnectionCount).toBe(0));
    const err = await failure(p.verify(target(fresh.port, { auth: { user: USER, pass: 'wrong' } })));
    expect(err.code).toBe('SMTP_AUTH_FAILED');
    // Verification left no pooled connection behind: the next send opens its own.
    await p.send(target(fresh.port), { from: FROM, to: [TO] }, RAW);
    expect(fresh.connectionCount).toBe(3);
  });

  it('keeps at most maxPools pools and closes the least recently used one', async () => {
    const fresh = await server({ tls: { key: ca.keyPem, cert: ca.certPem }, users: { [USER]: PASSWORD } });
    const p = pool({ maxPools: 2 });
    for (const key of ['tenant-a', 'tenant-b']) await p.send(target(fresh.port, { key }), { from: FROM, to: [TO] }, RAW);
    await vi.waitFor(() => expect(fresh.openConnectionCount).toBe(2));
    await p.send(target(fresh.port, { key: 'tenant-c' }), { from: FROM, to: [TO] }, RAW);
    expect(fresh.connectionCount).toBe(3);
    // tenant-a's pool was evicted and closed its connection; b and c stay open.
    await vi.waitFor(() => expect(fresh.openConnectionCount).toBe(2));
    await p.send(target(fresh.port, { key: 'tenant-c' }), { from: FROM, to: [TO] }, RAW);
    expect(fresh.connectionCount).toBe(3);
    await p.send(target(fresh.port, { key: 'tenant-a' }), { from: FROM, to: [TO] }, RAW);
    expect(fresh.connectionCount).toBe(4);
  });

  it('does not reuse a pool when the settings behind a key change', async () => {
    const fresh = await server({ tls: { key: ca.keyPem, cert: ca.certPem }, users: { [USER]: PASSWORD } });
    const p = pool();
    await p.send(target(fresh.port), { from: FROM, to: [TO] }, RAW);
    const err = await failure(p.send(target(fresh.port, { auth: { user: USER, pass: 'changed' } }), { from: FROM, to: [TO] }, RAW));
    expect(err.code).toBe('SMTP_AUTH_FAILED');
  });

  it('closes every connection on shutdown and refuses sends afterwards', async () => {
    const fresh = await server({ tls: { key: ca.keyPem, cert: ca.certPem }, users: { [USER]: PASSWORD } });
    const p = pool();
    await Promise.all([p.send(target(fresh.port), { from: FROM, to: [TO] }, RAW), p.send(target(fresh.port, { key: 'other' }), { from: FROM, to: [TO] }, RAW)]);
    expect(fresh.openConnectionCount).toBeGreaterThan(0);
    await p.onApplicationShutdown();
    await vi.waitFor(() => expect(fresh.openConnectionCount).toBe(0));
    const err = await failure(p.send(target(fresh.port), { from: FROM, to: [TO] }, RAW));
    expect(err).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });
  });

  it('lets a send that is under way finish when shutdown starts', async () => {
    const fresh = await server({ tls: { key: ca.keyPem, cert: ca.certPem }, users: { [USER]: PASSWORD } });
    const p = pool();
    const sending = p.send(target(fresh.port), { from: FROM, to: [TO] }, RAW);
    await new Promise((r) => setTimeout(r, 5));
    await p.close();
    await expect(sending).resolves.toMatchObject({ accepted: [TO] });
    expect(fresh.mails).toHaveLength(1);
  });
});
