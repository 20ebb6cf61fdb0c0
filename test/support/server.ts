import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';

/** Tests run from the repository root (npm test, vitest). */
export const ROOT = process.cwd();
export const MAIN = join(ROOT, 'dist/server/src/main.js');

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** The databases the suites run against: SQLite always, MariaDB/MySQL when TEST_MYSQL_URL is set (CI sets it). */
export function databaseKinds(): ('sqlite' | 'mysql')[] {
  return process.env.TEST_MYSQL_URL ? ['sqlite', 'mysql'] : ['sqlite'];
}

/** A fresh, empty MySQL database for one test file; dropped by the returned function. */
export async function createMysqlDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = process.env.TEST_MYSQL_URL;
  if (!base) throw new Error('TEST_MYSQL_URL is not set');
  const name = `mailpage_t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const conn = await createConnection(base);
  await conn.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  await conn.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const c = await createConnection(base);
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await c.end();
    },
  };
}

export interface RunningServer {
  url: string;
  port: number;
  dataDir: string;
  localToken: string;
  /** Everything the process wrote to stdout and stderr. */
  output: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
  child: ChildProcess;
}

/** Starts the built server (`npm run build` first) as its own process, in local mode unless env says otherwise. */
export async function startServer(env: Record<string, string | undefined> = {}): Promise<RunningServer> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const dataDir = env.MAILPAGE_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'mailpage-e2e-'));
  const localToken = env.MAILPAGE_LOCAL_TOKEN ?? `test-local-token-${Math.random().toString(36).slice(2)}`;
  const childEnv: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };
  const all = { PORT: String(port), MAILPAGE_DATA_DIR: dataDir, MAILPAGE_LOCAL_TOKEN: localToken, LOCAL_SMTP_PORT: '0', LOG_LEVEL: 'trace', ...env };
  for (const [k, v] of Object.entries(all)) if (v !== undefined) childEnv[k] = v;
  const child = spawn(process.execPath, [MAIN], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${out}`);
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.ok && (childEnv.NODE_ENV === 'production' || /Local admin token/.test(out))) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not become ready:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  // Local mode prints the token it uses; with MAILPAGE_LOCAL_TOKEN unset that is the only way to learn it.
  const printed = /Local admin token: (\S+)/.exec(out)?.[1];
  return {
    url,
    port,
    dataDir,
    localToken: printed ?? localToken,
    child,
    output: () => out,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      const code = await exited;
      if (!env.MAILPAGE_DATA_DIR) rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}

/** Runs the built server to completion (for start-up failures) and returns its exit code and output. */
export async function runServerExpectingExit(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((res) => child.once('exit', (c) => res(c)));
  clearTimeout(timer);
  return { code, output: out };
}
