import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasOwnMariaDb, startOwnMariaDb, type OwnMariaDb } from '../../support/mariadb';
import { eventually, localAdmin, sendMail, useSmtpServer, type Api } from '../../support/reliability';
import { startServer, type RunningServer } from '../../support/server';
import { startTestSmtpServer, type TestSmtpServer } from '../../support/smtp';

/**
 * The database goes away under a running node: a MariaDB of the test's own (its own data directory and port) is
 * stopped mid-test and started again. The node must answer 503 with a sentence, fail /readyz, and recover by itself.
 */
describe.runIf(hasOwnMariaDb)('a database outage under a running node', () => {
  let db: OwnMariaDb;
  let smtp: TestSmtpServer;
  let server: RunningServer;
  let api: Api;

  beforeAll(async () => {
    db = await startOwnMariaDb();
    await db.query('CREATE DATABASE mailpage CHARACTER SET utf8mb4');
    smtp = await startTestSmtpServer({ delayDataReplyMs: 1500 });
    server = await startServer({ DATABASE_URL: db.url('mailpage'), LOG_LEVEL: 'info', SEND_RATE_LIMIT_PER_USER: '1000' });
    api = localAdmin(server);
    await useSmtpServer(api, smtp.port);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await smtp?.close();
    await db?.destroy();
  });

  const ready = async () => (await fetch(`${server.url}/readyz`)).status;

  it('sends while the database is up', async () => {
    expect((await sendMail(api, 'before-outage')).status).toBe(200);
    expect(smtp.messagesReceived).toBe(1);
  });

  it('answers 503 with a sentence and Retry-After while the database is down, fails /readyz, and sends nothing', async ({ annotate }) => {
    await db.stop();
    const probe = await fetch(`${server.url}/readyz`);
    expect(probe.status).toBe(503);
    expect(await probe.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE', message: 'The database is not reachable.' });

    for (const key of ['during-outage-1', 'during-outage-2', null]) {
      const r = await sendMail(api, key);
      expect(r.status).toBe(503);
      expect(r.body).toEqual({ code: 'SERVICE_UNAVAILABLE', message: "The service's database is not reachable right now. Try again in a moment." });
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(r.ms).toBeLessThan(5000);
      await annotate(`send answered 503 in ${r.ms} ms`);
    }
    // Reading settings and the audit log fail the same way, not as 500.
    expect((await api.get('/api/settings/mail')).status).toBe(503);
    expect(smtp.messagesReceived).toBe(1);
    expect(await fetch(`${server.url}/healthz`).then((r) => r.status)).toBe(200);
  });

  it('recovers by itself when the database is back, without a restart', async ({ annotate }) => {
    await db.start();
    const back = Date.now();
    expect(await eventually(async () => (await ready()) === 200, 30_000, 200)).toBe(true);
    await annotate(`/readyz 200 again ${Date.now() - back} ms after the database accepted connections`);
    const r = await sendMail(api, 'during-outage-1');
    expect(r.status).toBe(200);
    expect(smtp.messagesReceived).toBe(2);
    expect(server.child.exitCode).toBeNull();
  });

  it('never sends a second copy when the database goes away while the mail is with the SMTP server', async () => {
    const before = smtp.messagesReceived;
    const sending = sendMail(api, 'outage-mid-send');
    expect(await eventually(() => smtp.dataInProgress > 0, 10_000)).toBe(true);
    await db.stop();
    const first = await sending;
    expect(smtp.mails.length).toBe(before + 1);
    // The mail went out. Whatever the node answers, it must not tell the sender that nothing was sent.
    expect([200, 503]).toContain(first.status);
    if (first.status === 503) expect(first.body.message).not.toMatch(/nothing was sent|not sent/i);

    await db.start();
    expect(await eventually(async () => (await ready()) === 200, 30_000, 200)).toBe(true);
    const again = await sendMail(api, 'outage-mid-send');
    expect([200, 202]).toContain(again.status);
    expect(smtp.messagesReceived).toBe(before + 1);
  });

  it('logged the outage by error type, never a mail body', () => {
    expect(server.output()).toContain('database unavailable');
    expect(server.output()).not.toContain('Reliability check');
  });
});
