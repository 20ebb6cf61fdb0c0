import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, localAdmin, sendMail, startSilentServer, useSmtpServer, type Api } from '../../support/reliability';
import { freePort, startServer, type RunningServer } from '../../support/server';
import { startTestSmtpServer, type TestSmtpServer, type TestSmtpServerOptions } from '../../support/smtp';
import { hasSmtpSink, startSmtpSink, type SmtpSink } from '../../support/smtp-sink';

/**
 * SMTP faults against the built server, with real SMTP servers: our smtp-server with fault hooks, and Postfix's
 * smtp-sink (a server we did not write) with its fault flags. Every case counts what the server received: no fault
 * may ever produce a second copy. Timeouts are short so the silent cases take seconds; the retry policy is the
 * default one (3 attempts within 15 s).
 */
const TIMEOUT_MS = 1500;
const RETRY_DEADLINE_MS = 15_000;

let server: RunningServer;
let api: Api;
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  server = await startServer({
    SMTP_CONNECTION_TIMEOUT_MS: String(TIMEOUT_MS),
    SMTP_GREETING_TIMEOUT_MS: String(TIMEOUT_MS),
    // Longer than the greeting timeout, so a server that never greets is reported as exactly that.
    SMTP_SOCKET_TIMEOUT_MS: String(TIMEOUT_MS + 1000),
    // The sends here are few, but they are not what a rate limit is being tested on.
    SEND_RATE_LIMIT_PER_USER: '1000',
  });
  api = localAdmin(server);
});

afterAll(async () => {
  await server?.stop();
  await Promise.allSettled(closers.splice(0).map((c) => c()));
});

async function smtpServer(opts: TestSmtpServerOptions): Promise<TestSmtpServer> {
  const s = await startTestSmtpServer(opts);
  closers.push(() => s.close());
  await useSmtpServer(api, s.port);
  return s;
}

async function sink(flags: string[]): Promise<SmtpSink> {
  const s = await startSmtpSink(flags);
  closers.push(() => s.close());
  await useSmtpServer(api, s.port);
  return s;
}

describe('transient faults before the message is sent are retried, and deliver one copy', () => {
  it('retries after a 421 greeting and delivers once when the server comes back', async () => {
    const smtp = await smtpServer({ failFirst: { at: 'CONNECT', code: 421, times: 1 } });
    const r = await sendMail(api, 'greeting-421-once');
    expect(r.status).toBe(200);
    expect(r.body.accepted).toEqual(['ann@example.com']);
    expect(smtp.connectionCount).toBe(2);
    expect(smtp.messagesReceived).toBe(1);
    expect(smtp.mails).toHaveLength(1);
  });

  it('retries after a 451 at RCPT (greylisting) and delivers once', async () => {
    const smtp = await smtpServer({ failFirst: { at: 'RCPT', code: 451, times: 1 } });
    const r = await sendMail(api, 'rcpt-451-once');
    expect(r.status).toBe(200);
    expect(smtp.messagesReceived).toBe(1);
    expect(smtp.mails).toHaveLength(1);
  });

  it('retries a 421 at MAIL FROM twice and delivers once on the third attempt', async () => {
    const smtp = await smtpServer({ failFirst: { at: 'MAIL', code: 421, times: 2 } });
    const r = await sendMail(api, 'mail-421-twice');
    expect(r.status).toBe(200);
    expect(smtp.connectionCount).toBe(3);
    expect(smtp.messagesReceived).toBe(1);
  });

  it.runIf(hasSmtpSink)('gives up on a server that keeps greeting with 421 after 3 attempts within the deadline (smtp-sink -Q CONNECT)', async ({ annotate }) => {
    const s = await sink(['-Q', 'CONNECT']);
    const r = await sendMail(api, 'sink-greeting-421');
    expect(r.status).toBe(502);
    expect(r.body).toMatchObject({ code: 'SMTP_CONNECT_FAILED', details: { smtpCode: 421, attempts: 3 } });
    expect(r.body.message).toContain('not accepting mail right now (reply 421)');
    expect(r.body.message).toContain('The message was not sent.');
    expect(r.body.message).toContain('Tried 3 times.');
    expect(s.connections).toBe(3);
    expect(s.messages()).toBe(0);
    // Backoff waited between attempts (at least 0.5 s + 1 s), and all of it stayed within the deadline.
    expect(r.ms).toBeGreaterThanOrEqual(1400);
    expect(r.ms).toBeLessThan(RETRY_DEADLINE_MS);
    await annotate(`3 attempts, 0 copies, answered in ${r.ms} ms`);
  });

  it.runIf(hasSmtpSink)('gives up on a server that keeps answering 451 at RCPT, naming the recipient (smtp-sink -r RCPT)', async () => {
    const s = await sink(['-r', 'RCPT', '-b', '451 4.7.1 Greylisted, try again later']);
    const r = await sendMail(api, 'sink-rcpt-451', ['greylisted@example.org']);
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ code: 'SMTP_RECIPIENT_REJECTED', details: { smtpCode: 451, rejected: ['greylisted@example.org'], attempts: 3 } });
    expect(r.body.message).toContain('did not accept the recipient greylisted@example.org right now (reply 451)');
    expect(r.body.message).not.toContain('Greylisted, try again');
    expect(s.connections).toBeGreaterThanOrEqual(1);
    expect(s.messages()).toBe(0);
    expect(r.ms).toBeLessThan(RETRY_DEADLINE_MS);
  });

  it.runIf(hasSmtpSink)('retries a 4xx answer to the DATA command, which comes before the message (smtp-sink -r DATA)', async () => {
    const s = await sink(['-r', 'DATA']);
    const r = await sendMail(api, 'sink-data-450');
    expect(r.status).toBe(502);
    expect(r.body).toMatchObject({ code: 'SMTP_MESSAGE_REJECTED', details: { smtpCode: 450, attempts: 3 } });
    expect(s.messages()).toBe(0);
  });

  it('retries a refused connection and says nothing was sent', async () => {
    const port = await freePort();
    await useSmtpServer(api, port);
    const r = await sendMail(api, 'refused');
    expect(r.status).toBe(502);
    expect(r.body).toMatchObject({ code: 'SMTP_CONNECT_FAILED', details: { attempts: 3 } });
    expect(r.body.message).toContain('the connection was refused');
    expect(r.ms).toBeLessThan(RETRY_DEADLINE_MS);
  });

  it('lets the same Idempotency-Key send once the server recovers, after a send that delivered nothing', async () => {
    const smtp = await smtpServer({ failFirst: { at: 'CONNECT', code: 421, times: 3 } });
    const first = await sendMail(api, 'recovers-later');
    expect(first.status).toBe(502);
    expect(smtp.messagesReceived).toBe(0);
    const again = await sendMail(api, 'recovers-later');
    expect(again.status).toBe(200);
    const replay = await sendMail(api, 'recovers-later');
    expect(replay.body).toEqual(again.body);
    expect(smtp.messagesReceived).toBe(1);
  });
});

describe('permanent refusals are not retried', () => {
  it('names the refused recipient on a 550 and connects once', async () => {
    const smtp = await smtpServer({ rejectRecipients: ['gone@example.org'] });
    const r = await sendMail(api, 'rcpt-550', ['gone@example.org']);
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ code: 'SMTP_RECIPIENT_REJECTED', details: { smtpCode: 550, rejected: ['gone@example.org'] } });
    expect(r.body.message).toContain('refused the recipient gone@example.org (reply 550)');
    expect(r.body.details.attempts).toBeUndefined();
    expect(smtp.connectionCount).toBe(1);
    expect(smtp.messagesReceived).toBe(0);
  });

  it.runIf(hasSmtpSink)('names the refused recipient on a 550 from smtp-sink (-f RCPT) and connects once', async () => {
    const s = await sink(['-f', 'RCPT', '-B', '550 5.1.1 No such user here']);
    const r = await sendMail(api, 'sink-rcpt-550', ['nobody@example.org']);
    expect(r.status).toBe(422);
    expect(r.body.message).toContain('refused the recipient nobody@example.org (reply 550)');
    expect(r.body.message).not.toContain('No such user here');
    expect(s.connections).toBe(1);
    expect(s.messages()).toBe(0);
  });
});

describe('faults after the message was sent are never retried', () => {
  it('reports SMTP_OUTCOME_UNKNOWN when the connection drops after the final dot, and never sends it again', async () => {
    const smtp = await smtpServer({ dropConnectionAt: 'DATA_END' });
    const r = await sendMail(api, 'drop-after-data');
    expect(r.status).toBe(502);
    expect(r.body.code).toBe('SMTP_OUTCOME_UNKNOWN');
    expect(r.body.message).toContain('may or may not have been delivered');
    expect(smtp.connectionCount).toBe(1);
    expect(smtp.messagesReceived).toBe(1);
    const again = await sendMail(api, 'drop-after-data');
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('SMTP_OUTCOME_UNKNOWN');
    expect(smtp.messagesReceived).toBe(1);
  });

  it.runIf(hasSmtpSink)('reports SMTP_OUTCOME_UNKNOWN when smtp-sink disconnects after the final dot (-q .)', async () => {
    const s = await sink(['-q', '.']);
    const r = await sendMail(api, 'sink-drop-after-dot');
    expect(r.status).toBe(502);
    expect(r.body.code).toBe('SMTP_OUTCOME_UNKNOWN');
    expect(s.connections).toBe(1);
    expect(s.messages()).toBe(1);
  });

  it.runIf(hasSmtpSink)('does not retry a 421 that answers the final dot (-Q .): the server refused that copy', async () => {
    const s = await sink(['-Q', '.']);
    const r = await sendMail(api, 'sink-421-after-dot');
    expect(r.status).toBe(502);
    expect(r.body).toMatchObject({ code: 'SMTP_MESSAGE_REJECTED', details: { smtpCode: 421 } });
    expect(s.connections).toBe(1);
    expect(s.messages()).toBe(1);
  });

  it('reports SMTP_OUTCOME_UNKNOWN when the server goes silent after the final dot', async () => {
    const smtp = await smtpServer({ silentAfterData: true });
    const r = await sendMail(api, 'silent-after-data');
    expect(r.status).toBe(502);
    expect(r.body.code).toBe('SMTP_OUTCOME_UNKNOWN');
    expect(smtp.connectionCount).toBe(1);
    expect(smtp.messagesReceived).toBe(1);
    expect(smtp.mails).toHaveLength(0);
  });
});

describe('a silent server times out with a clear error', () => {
  it('says the server accepted the connection but did not greet in time (SMTP_TIMEOUT)', async () => {
    const silent = await startSilentServer();
    closers.push(() => silent.close());
    await useSmtpServer(api, silent.port);
    const r = await sendMail(api, 'silent-greeting');
    expect(r.status).toBe(504);
    expect(r.body.code).toBe('SMTP_TIMEOUT');
    expect(r.body.message).toContain('did not greet in time');
    // A timeout is tried again only while another full wait fits before the deadline.
    expect(silent.connections).toBeGreaterThanOrEqual(1);
    expect(silent.connections).toBeLessThanOrEqual(3);
    expect(r.ms).toBeLessThan(RETRY_DEADLINE_MS + TIMEOUT_MS + 1000);
  });

  it.runIf(hasSmtpSink)('says the server stopped answering at DATA, before the message (smtp-sink -w 30)', async () => {
    const s = await sink(['-w', '30']);
    const r = await sendMail(api, 'sink-slow-data');
    expect(r.status).toBe(504);
    expect(r.body.code).toBe('SMTP_TIMEOUT');
    expect(r.body.message).toContain('The message was not sent.');
    expect(s.messages()).toBe(0);
    expect(r.ms).toBeLessThan(RETRY_DEADLINE_MS + TIMEOUT_MS + 1000);
  });
});

describe('after all the faults above', () => {
  it('logged no mail content and no refused address (they are in the answers only), and the server is still ready', async () => {
    expect(await eventually(async () => (await fetch(`${server.url}/readyz`)).status === 200, 2000)).toBe(true);
    for (const text of ['Reliability check', 'gone@example.org', 'nobody@example.org', 'greylisted@example.org', 'ann@example.com']) {
      expect(server.output()).not.toContain(text);
    }
  });
});
