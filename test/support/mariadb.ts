import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { freePort } from './server';

const MARIADBD = ['/usr/sbin/mariadbd', '/usr/sbin/mysqld'].find((p) => existsSync(p));
const INSTALL_DB = ['/usr/bin/mariadb-install-db', '/usr/bin/mysql_install_db'].find((p) => existsSync(p));

/** Whether a MariaDB server binary is installed, so a test can run a database of its own and stop it. */
export const hasOwnMariaDb = !!MARIADBD && !!INSTALL_DB;

export interface OwnMariaDb {
  port: number;
  /** `mysql://root@127.0.0.1:<port>/<database>`. */
  url(database: string): string;
  /** Runs one statement as root (to create the database the server uses). */
  query(sql: string): Promise<void>;
  /** Stops the server (SIGTERM, as an operator or a crash-restart would), and waits until it has exited. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  /** Stops it for good and removes its data directory. */
  destroy(): Promise<void>;
}

/**
 * A MariaDB server of the test's own: its own data directory, port and socket, started as a child process, so a
 * test can take the database away mid-run. The shared MariaDB on 3306 is never touched.
 */
export async function startOwnMariaDb(): Promise<OwnMariaDb> {
  if (!MARIADBD || !INSTALL_DB) throw new Error('MariaDB is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'mailpage-mariadb-'));
  const datadir = join(dir, 'data');
  const install = spawnSync(INSTALL_DB, ['--no-defaults', `--datadir=${datadir}`, '--auth-root-authentication-method=normal', '--user=root', '--skip-test-db'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (install.status !== 0) throw new Error(`mariadb-install-db failed:\n${install.stdout}\n${install.stderr}`);
  const port = await freePort();
  const url = (database: string) => `mysql://root@127.0.0.1:${port}/${database}`;
  let child: ChildProcess | null = null;

  const start = async () => {
    if (child) return;
    const proc = spawn(
      MARIADBD,
      [
        '--no-defaults',
        `--datadir=${datadir}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--socket=${join(dir, 'mysqld.sock')}`,
        `--pid-file=${join(dir, 'mysqld.pid')}`,
        `--log-error=${join(dir, 'error.log')}`,
        '--user=root',
        '--skip-log-bin',
        '--skip-name-resolve',
        '--innodb-buffer-pool-size=32M',
      ],
      { stdio: 'ignore' },
    );
    child = proc;
    proc.once('exit', () => {
      if (child === proc) child = null;
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`mariadbd exited with ${proc.exitCode}:\n${errorLog()}`);
      try {
        const c = await createConnection({ host: '127.0.0.1', port, user: 'root', connectTimeout: 1000 });
        await c.end();
        return;
      } catch {
        /* not accepting connections yet */
      }
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`mariadbd did not start:\n${errorLog()}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  const stop = async () => {
    const proc = child;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const killed = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 30_000))]);
    if (killed) {
      proc.kill('SIGKILL');
      await exited;
    }
  };

  const errorLog = () => {
    try {
      return readFileSync(join(dir, 'error.log'), 'utf8').slice(-4000);
    } catch {
      return '(no error log)';
    }
  };

  await start();
  return {
    port,
    url,
    query: async (sql) => {
      const c = await createConnection({ host: '127.0.0.1', port, user: 'root' });
      try {
        await c.query(sql);
      } finally {
        await c.end();
      }
    },
    stop,
    start,
    destroy: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
