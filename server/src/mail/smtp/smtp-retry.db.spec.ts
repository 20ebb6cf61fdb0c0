import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startSilentServer, type SilentServer } from '../../../../test/support/reliability';
import { startTestSmtpServer, type TestSmtpServer, type TestSmtpServerOptions } from '../../../../test/support/smtp';
import { DomainError } from '../../common/domain-error';
import { SmtpPool, type SmtpPoolOptions } from './smtp-pool.service';
import type { SmtpTarget } from './smtp.types';

const FROM = 'sender@example.com';
const TO = 'ann@example.com';
const message = (n = 0) => Buffer.from([`From: <${FROM}>`, `To: <${TO}>`, `Subject: Retry ${n}`, `Message-ID: <retry-${n}@example.com>`, '', `Body ${n}`, ''].join('\r\n'));

const servers: Array<TestSmtpServer | SilentServer> = [];
const pools: SmtpPool[] = [];

async function server(opts: TestSmtpServerOptions = {}): Promise<TestSmtpServer> {
  const s = await startTestSmtpServer(opts);
  servers.push(s);
  return s;
}

function pool(opts: Partial<SmtpPoolOptions> = {}): SmtpPool {
  const p = new SmtpPool({
    allowPrivateHosts: true,
    connectionTimeoutMs: 2000,
    greetingTimeoutMs: 2000,
    socketTimeoutMs: 3000,
    maxPools: 10,
    resolver: async () => ['127.0.0.1'],
    retry: { attempts: 3, deadlineMs: 5000, baseDelayMs: 40, maxDelayMs: 200 },
    ...opts,
  });
  pools.push(p);
  return p;
}

const target = (port: number): SmtpTarget => ({ key: `tenant:${port}`, host: '127.0.0.1', port, security: 'none', auth: null });

async function failure(p: Promise<unknown>): Promise<DomainError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DomainError);
  return err as DomainError;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

afterAll(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('SmtpPool retries a transient failure before the message, and only then', () => {
  it('delivers once on the third attempt after two 421 greetings', async () => {
    const s = await server({ failFirst: { at: 'CONNECT', code: 421, times: 2 } });
    const result = await pool().send(target(s.port), { from: FROM, to: [TO] }, message());
    expect(result).toMatchObject({ accepted: [TO], attempts: 3 });
    expect(s.connectionCount).toBe(3);
    expect(s.messagesReceived).toBe(1);
  });

  it('gives up after the configured attempts with the last error, saying how many were made', async () => {
    const s = await server({ failFirst: { at: 'RCPT', code: 451, times: 100 } });
    const err = await failure(pool().send(target(s.port), { from: FROM, to: [TO] }, message()));
    expect(err).toMatchObject({ code: 'SMTP_RECIPIENT_REJECTED', details: { smtpCode: 451, attempts: 3, rejected: [TO] } });
    expect(err.message).toMatch(/Tried 3 times\.$/);
    expect(s.messagesReceived).toBe(0);
  });

  it('starts no attempt after the deadline, however many attempts are allowed', async () => {
    const s = await server({ failFirst: { at: 'CONNECT', code: 421, times: 100 } });
    const started = Date.now();
    const err = await failure(pool({ retry: { attempts: 50, deadlineMs: 600, baseDelayMs: 100, maxDelayMs: 400 } }).send(target(s.port), { from: FROM, to: [TO] }, message()));
    const took = Date.now() - started;
    expect(err.code).toBe('SMTP_CONNECT_FAILED');
    expect(took).toBeLessThan(600 + 500);
    expect(s.connectionCount).toBeGreaterThanOrEqual(2);
    expect(s.connectionCount).toBeLessThan(8);
  });

  it('makes one attempt when retrying is turned off', async () => {
    const s = await server({ failFirst: { at: 'CONNECT', code: 421, times: 1 } });
    const err = await failure(pool({ retry: { attempts: 1 } }).send(target(s.port), { from: FROM, to: [TO] }, message()));
    expect(err.code).toBe('SMTP_CONNECT_FAILED');
    expect(err.details?.attempts).toBeUndefined();
    expect(s.connectionCount).toBe(1);
  });

  it('does not retry a 4xx that answers the final dot: the server had the message and refused it', async () => {
    const s = await server({ failFirst: { at: 'DATA_END', code: 451, times: 1 } });
    const err = await failure(pool().send(target(s.port), { from: FROM, to: [TO] }, message()));
    expect(err).toMatchObject({ code: 'SMTP_MESSAGE_REJECTED', details: { smtpCode: 451 } });
    expect(s.messagesReceived).toBe(1);
    expect(s.mails).toHaveLength(0);
  });

  it('does not retry a connection lost after the final dot, and says the outcome is unknown', async () => {
    const s = await server({ dropConnectionAt: 'DATA_END' });
    const err = await failure(pool().send(target(s.port), { from: FROM, to: [TO] }, message()));
    expect(err.code).toBe('SMTP_OUTCOME_UNKNOWN');
    expect(s.connectionCount).toBe(1);
    expect(s.messagesReceived).toBe(1);
  });

  it('sends 20 mails at once through a server that refuses every first greeting: 20 copies, one each', async () => {
    const s = await server({ failFirst: { at: 'CONNECT', code: 421, times: 3 } });
    const p = pool({ retry: { attempts: 3, deadlineMs: 10_000, baseDelayMs: 20, maxDelayMs: 100 } });
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => p.send(target(s.port), { from: FROM, to: [TO] }, message(i))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(20);
    expect(s.messagesReceived).toBe(20);
    const subjects = s.mails.map((m) => /Subject: (.*)/.exec(m.raw.toString())?.[1]);
    expect(new Set(subjects).size).toBe(20);
  });
});

describe('SmtpPool bounds every attempt in time', () => {
  it('cuts off an attempt that takes longer than maxAttemptMs after the message went out: outcome unknown', async () => {
    const s = await server({ silentAfterData: true });
    const started = Date.now();
    const err = await failure(pool({ socketTimeoutMs: 20_000, maxAttemptMs: 400 }).send(target(s.port), { from: FROM, to: [TO] }, message()));
    expect(err.code).toBe('SMTP_OUTCOME_UNKNOWN');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(s.messagesReceived).toBe(1);
  });

  it('cuts off an attempt at a server that never greets, and says nothing was sent', async () => {
    const silent = await startSilentServer();
    servers.push(silent);
    const err = await failure(pool({ greetingTimeoutMs: 20_000, socketTimeoutMs: 20_000, maxAttemptMs: 300, retry: { attempts: 1 } }).send(target(silent.port), { from: FROM, to: [TO] }, message()));
    expect(err.code).toBe('SMTP_TIMEOUT');
    expect(err.message).toContain('The message was not sent.');
  });
});

describe('SmtpPool during shutdown', () => {
  it('lets a send under way finish, and cuts off one still running after the grace period', async () => {
    const slow = await server({ delayDataReplyMs: 300 });
    const stuck = await server({ silentAfterData: true });
    const p = pool({ socketTimeoutMs: 20_000, shutdownGraceMs: 1000 });
    const finishing = p.send(target(slow.port), { from: FROM, to: [TO] }, message(1));
    const hanging = p.send(target(stuck.port), { from: FROM, to: [TO] }, message(2));
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    p.beforeApplicationShutdown();
    await expect(finishing).resolves.toMatchObject({ accepted: [TO] });
    const err = await failure(hanging);
    expect(err.code).toBe('SMTP_OUTCOME_UNKNOWN');
    await p.close();
    expect(Date.now() - started).toBeLessThan(2500);
    expect(slow.mails).toHaveLength(1);
    expect(stuck.messagesReceived).toBe(1);
  });

  it('answers SERVICE_UNAVAILABLE for a send cut off before its message went out', async () => {
    const silent = await startSilentServer();
    servers.push(silent);
    const p = pool({ greetingTimeoutMs: 20_000, socketTimeoutMs: 20_000, shutdownGraceMs: 200 });
    const sending = p.send(target(silent.port), { from: FROM, to: [TO] }, message());
    await new Promise((r) => setTimeout(r, 50));
    p.beforeApplicationShutdown();
    const err = await failure(sending);
    expect(err).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });
    expect(err.message).toContain('The message was not sent');
  });

  it('ends a wait between attempts when the pool closes, with the error it had, and connects no more', async () => {
    const s = await server({ failFirst: { at: 'CONNECT', code: 421, times: 100 } });
    const p = pool({ retry: { attempts: 3, deadlineMs: 60_000, baseDelayMs: 20_000, maxDelayMs: 20_000 } });
    const sending = p.send(target(s.port), { from: FROM, to: [TO] }, message());
    for (let i = 0; i < 100 && s.connectionCount < 1; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await p.close();
    const err = await failure(sending);
    expect(err).toMatchObject({ code: 'SMTP_CONNECT_FAILED', details: { smtpCode: 421 } });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(s.connectionCount).toBe(1);
  });
});
