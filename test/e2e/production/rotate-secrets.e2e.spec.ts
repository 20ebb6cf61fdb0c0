import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, bearer } from '../../support/api';
import { dumpDatabase } from '../../support/privacy';
import { createMysqlDatabase, databaseKinds, ROOT, startServer } from '../../support/server';
import { startTestSmtpServer, type TestSmtpServer } from '../../support/smtp';

const PASSWORD = 'smtp-Pass-rot8-Qx';
const OLD = randomBytes(32).toString('base64');
const NEW = randomBytes(32).toString('base64');

/** `npm run secrets:rotate` as an operator runs it, with the server's environment. */
async function rotate(env: Record<string, string | undefined>, args: string[] = []): Promise<{ code: number | null; out: string }> {
  const child = spawn('npm', ['run', '--silent', 'secrets:rotate', ...(args.length ? ['--', ...args] : [])], {
    cwd: ROOT,
    env: Object.fromEntries(Object.entries({ PATH: process.env.PATH, HOME: process.env.HOME, ...env }).filter((e): e is [string, string] => e[1] !== undefined)),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  return { code, out: out.replace(/^npm warn .*\n/gm, '') };
}

describe.each(databaseKinds())('rotating the secret key with npm run secrets:rotate on %s', (kind) => {
  let smtp: TestSmtpServer;
  let dataDir: string;
  let dbUrl: string | undefined;
  let dropDb: (() => Promise<void>) | undefined;
  const base = () => ({ MAILPAGE_DATA_DIR: dataDir, DATABASE_URL: dbUrl });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'mailpage-rotate-'));
    smtp = await startTestSmtpServer({ users: { mailer: PASSWORD } });
    if (kind === 'mysql') ({ url: dbUrl, drop: dropDb } = await createMysqlDatabase());
    const server = await startServer({ ...base(), MAILPAGE_SECRET_KEY: OLD, MAILPAGE_SECRET_KEY_ID: 'old' });
    const api = apiClient(server.url, bearer(server.localToken));
    const put = await api.put('/api/settings/mail', { senderAddress: 'docs@example.com', server: { mode: 'custom', host: '127.0.0.1', port: smtp.port, security: 'none', auth: { type: 'password', username: 'mailer', password: PASSWORD } } });
    expect(put.status).toBe(200);
    expect((await api.post('/api/settings/mail/verify', {})).status).toBe(200);
    await server.stop();
  });
  afterAll(async () => {
    await smtp?.close();
    await dropDb?.();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('says which key is missing when the old key is not configured, and changes nothing', async () => {
    const r = await rotate({ ...base(), MAILPAGE_SECRET_KEY: NEW, MAILPAGE_SECRET_KEY_ID: 'new' });
    expect(r.code).toBe(1);
    expect(r.out).toContain('1 secret(s) are sealed under key(s) old, which are not configured: add them to MAILPAGE_OLD_SECRET_KEYS and run again.');
  });

  it('re-seals every secret under the new key, printing counts only', async () => {
    const dry = await rotate({ ...base(), MAILPAGE_SECRET_KEY: NEW, MAILPAGE_SECRET_KEY_ID: 'new', MAILPAGE_OLD_SECRET_KEYS: `old:${OLD}` }, ['--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.out).toContain('Total: 1 to re-seal, 0 already current, 0 unreadable, 0 changed meanwhile.');
    const r = await rotate({ ...base(), MAILPAGE_SECRET_KEY: NEW, MAILPAGE_SECRET_KEY_ID: 'new', MAILPAGE_OLD_SECRET_KEYS: `old:${OLD}` });
    expect(r.code).toBe(0);
    expect(r.out).toContain('  mail_settings.password_sealed: 1 re-sealed, 0 already current, 0 unreadable');
    expect(r.out).toContain('Total: 1 re-sealed, 0 already current, 0 unreadable, 0 changed meanwhile.');
    expect(r.out).toContain('Every stored secret is sealed under new: the old keys can be removed from MAILPAGE_OLD_SECRET_KEYS.');
    for (const s of [PASSWORD, OLD, NEW]) expect(r.out).not.toContain(s);
    const dump = await dumpDatabase(dbUrl ? { type: 'mysql', url: dbUrl } : { type: 'sqlite', path: join(dataDir, 'mailpage.sqlite') });
    expect(dump).toMatch(/mp1\.new\./);
    expect(dump).not.toMatch(/mp1\.old\./);
  });

  it('is idempotent', async () => {
    const r = await rotate({ ...base(), MAILPAGE_SECRET_KEY: NEW, MAILPAGE_SECRET_KEY_ID: 'new', MAILPAGE_OLD_SECRET_KEYS: `old:${OLD}` });
    expect(r.code).toBe(0);
    expect(r.out).toContain('Total: 0 re-sealed, 1 already current, 0 unreadable, 0 changed meanwhile.');
  });

  it('lets the server run with the new key alone: the saved password still logs in', async () => {
    const server = await startServer({ ...base(), MAILPAGE_SECRET_KEY: NEW, MAILPAGE_SECRET_KEY_ID: 'new' });
    try {
      const api = apiClient(server.url, bearer(server.localToken));
      const v = await api.post('/api/settings/mail/verify', { testRecipient: 'ann@example.org' });
      expect(v.status).toBe(200);
      expect(v.body.steps).toEqual(['connect', 'auth', 'test-mail']);
      expect(server.output()).not.toContain(PASSWORD);
    } finally {
      await server.stop();
    }
  });
});
