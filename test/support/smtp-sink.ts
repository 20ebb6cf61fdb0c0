import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './server';

export const SMTP_SINK = '/usr/sbin/smtp-sink';

/** Whether Postfix's smtp-sink is installed (the fault tests that use it are skipped otherwise). */
export const hasSmtpSink = existsSync(SMTP_SINK);

export interface SmtpSink {
  port: number;
  /** TCP connections the sink accepted for the test (its own readiness probe not counted). */
  readonly connections: number;
  /**
   * Messages that reached the sink, whatever it answered: one dump file each. The sink opens a transaction's file
   * at DATA and writes it as the message comes in, so an empty file (DATA answered late, nothing sent) is not counted.
   */
  messages(): number;
  close(): Promise<void>;
}

/**
 * Postfix's smtp-sink on 127.0.0.1, an SMTP server we did not write, with its fault flags (man smtp-sink):
 * `-Q CONNECT` a 421 greeting, `-r RCPT` a 4xx at RCPT (`-b` sets the reply), `-f RCPT -B '550 …'` a 5xx,
 * `-q .` a dropped connection once the message is in, `-w 5` a 5 s wait before answering DATA.
 * Each complete transaction is dumped to a file of its own (`-d`), which is how the copies are counted.
 */
export async function startSmtpSink(flags: string[]): Promise<SmtpSink> {
  const port = await freePort();
  const dumps = mkdtempSync(join(tmpdir(), 'mailpage-sink-'));
  // Run as root, smtp-sink drops to another user (-u), which must be able to write the dumps.
  chmodSync(dumps, 0o777);
  const asUser = process.getuid?.() === 0 ? ['-u', 'nobody'] : [];
  const child: ChildProcess = spawn(SMTP_SINK, [...asUser, '-v', '-d', `${dumps}/%Y%m%d%H%M%S.`, ...flags, `127.0.0.1:${port}`, '64'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const accepted = () => (log.match(/: connect \(/g) ?? []).length;

  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`smtp-sink exited with ${child.exitCode}:\n${log}`);
    if (await canConnect(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`smtp-sink did not start listening:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  // The probe above is one accepted connection; wait until the sink has logged it, so it is not counted.
  for (let i = 0; i < 100 && accepted() < 1; i++) await new Promise((r) => setTimeout(r, 20));
  const baseline = accepted();

  return {
    port,
    get connections() {
      return accepted() - baseline;
    },
    messages: () =>
      readdirSync(dumps, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && statSync(join(e.parentPath, e.name)).size > 0).length,
    close: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dumps, { recursive: true, force: true });
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
