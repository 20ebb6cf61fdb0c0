import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../../support/api';
import { hasOwnMariaDb, startOwnMariaDb } from '../../support/mariadb';
import { eventually, localAdmin, sendMail, useSmtpServer, type Api } from '../../support/reliability';
import { createMysqlDatabase, startServer, type RunningServer } from '../../support/server';
import { startTestSmtpServer, type TestSmtpServer } from '../../support/smtp';

/**
 * Two server processes on one MariaDB database, as two nodes behind a load balancer: local mode, the same secret key
 * and local token. The shared MariaDB (TEST_MYSQL_URL) gets a fresh database; without it, a MariaDB of the test's own.
 */
async function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  if (process.env.TEST_MYSQL_URL) return createMysqlDatabase();
  const own = await startOwnMariaDb();
  await own.query('CREATE DATABASE mailpage CHARACTER SET utf8mb4');
  return { url: own.url('mailpage'), drop: () => own.destroy() };
}

const canRun = !!process.env.TEST_MYSQL_URL || hasOwnMariaDb;

interface Cluster {
  nodes: [RunningServer, RunningServer];
  admins: [Api, Api];
  smtp: TestSmtpServer;
  stop: () => Promise<void>;
}

async function startCluster(env: Record<string, string>, smtpDelayMs: number): Promise<Cluster> {
  const db = await freshDatabase();
  const smtp = await startTestSmtpServer({ delayDataReplyMs: smtpDelayMs });
  const shared = { DATABASE_URL: db.url, MAILPAGE_SECRET_KEY: randomBytes(32).toString('base64'), MAILPAGE_LOCAL_TOKEN: `two-nodes-${randomBytes(12).toString('hex')}`, LOG_LEVEL: 'info', ...env };
  // One after the other: the first runs the migrations, the second finds them done.
  const a = await startServer(shared);
  const b = await startServer(shared);
  const admins: [Api, Api] = [localAdmin(a), localAdmin(b)];
  await useSmtpServer(admins[0], smtp.port);
  return {
    nodes: [a, b],
    admins,
    smtp,
    stop: async () => {
      await Promise.allSettled([a.stop(), b.stop()]);
      await smtp.close();
      await db.drop();
    },
  };
}

/** A Forge-style session for a sandbox user, from the node that will check its token (each node has its own sandbox). */
async function userOn(node: RunningServer, accountId: string): Promise<Api> {
  const r = await fetch(`${node.url}/api/local/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accountId }) });
  if (r.status !== 200) throw new Error(`no session for ${accountId}: ${r.status}`);
  return apiClient(node.url, ((await r.json()) as { headers: Record<string, string> }).headers);
}

describe.runIf(canRun)('two nodes on one database: idempotency', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster({ SEND_RATE_LIMIT_PER_USER: '1000', SEND_RATE_LIMIT_PER_TENANT: '10000' }, 800);
  }, 180_000);
  afterAll(async () => cluster?.stop());

  it('sends once when the same Idempotency-Key reaches both nodes at the same moment', async () => {
    const [a, b] = cluster.admins;
    const keys = Array.from({ length: 10 }, (_, i) => `both-nodes-${i}`);
    const pairs = await Promise.all(keys.map((k) => Promise.all([sendMail(a, k), sendMail(b, k)])));
    for (const [fromA, fromB] of pairs) {
      expect([200, 202]).toContain(fromA.status);
      expect([200, 202]).toContain(fromB.status);
      expect(fromA.body.sendId).toBe(fromB.body.sendId);
      expect([fromA.status, fromB.status]).toContain(200);
    }
    expect(cluster.smtp.messagesReceived).toBe(10);
    expect(new Set(cluster.smtp.mails.map((m) => /^Message-ID: (.*)$/im.exec(m.raw.toString())?.[1])).size).toBe(10);

    // Every send is recorded as sent, whichever node is asked.
    for (const [fromA] of pairs) {
      const id = fromA.body.sendId;
      expect(await eventually(async () => (await b.get(`/api/mail/sends/${id}`)).body.status === 'sent', 10_000, 100)).toBe(true);
    }
  });

  it('refuses the key for a different mail on the other node, and sends nothing more', async () => {
    const [a, b] = cluster.admins;
    expect((await sendMail(a, 'reused-key')).status).toBe(200);
    const other = await sendMail(b, 'reused-key', ['someone.else@example.org']);
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(cluster.smtp.messagesReceived).toBe(11);
  });
});

/**
 * Needs RateLimitService wired into MailService (429 RATE_LIMITED with Retry-After) and the limits read from
 * SEND_RATE_LIMIT_PER_USER, SEND_RATE_LIMIT_PER_TENANT and SEND_RATE_LIMIT_WINDOW_SECONDS: see docs/RELIABILITY.md.
 */
describe.runIf(canRun)('two nodes on one database: rate limits hold across both', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    // An hour-long window: the test cannot straddle a window boundary unless it starts in the last minute of one.
    const secondsLeft = 3600 - (Math.floor(Date.now() / 1000) % 3600);
    if (secondsLeft < 60) await new Promise((r) => setTimeout(r, (secondsLeft + 1) * 1000));
    cluster = await startCluster({ SEND_RATE_LIMIT_PER_USER: '3', SEND_RATE_LIMIT_PER_TENANT: '5', SEND_RATE_LIMIT_WINDOW_SECONDS: '3600' }, 0);
  }, 240_000);
  afterAll(async () => cluster?.stop());

  it('lets one user send exactly their limit, whichever node they reach and however fast', async () => {
    const [a, b] = cluster.nodes;
    const alice = [await userOn(a, 'alice'), await userOn(b, 'alice')];
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => sendMail(alice[i % 2], null)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429, 429, 429]);
    for (const refused of results.filter((r) => r.status === 429)) {
      expect(refused.body.code).toBe('RATE_LIMITED');
      expect(refused.body.message).toMatch(/try again/i);
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(3600);
      expect(refused.body.details?.retryAfterSeconds).toBe(retryAfter);
    }
    expect(cluster.smtp.messagesReceived).toBe(3);
  });

  it('holds the site to its limit across users and nodes', async () => {
    const [a, b] = cluster.nodes;
    const bob = [await userOn(a, 'bob'), await userOn(b, 'bob')];
    expect((await sendMail(bob[0], null)).status).toBe(200);
    expect((await sendMail(bob[1], null)).status).toBe(200);
    // Bob has sent 2 of his 3, but the site has sent 5 of its 5.
    const third = await sendMail(bob[0], null);
    expect(third.status).toBe(429);
    expect(third.body.code).toBe('RATE_LIMITED');
    const dave = await sendMail(await userOn(b, 'dave'), null);
    expect(dave.status).toBe(429);
    expect(cluster.smtp.messagesReceived).toBe(5);
  });
});
