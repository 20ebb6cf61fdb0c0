import { randomUUID } from 'node:crypto';
import { SMTPServer } from 'smtp-server';

export interface CaughtMail {
  id: string;
  receivedAt: Date;
  envelope: { from: string; to: string[] };
  /** The message as received over DATA. */
  raw: Buffer;
}

interface Waiter {
  predicate: (mail: CaughtMail) => boolean;
  resolve: (mail: CaughtMail) => void;
}

/**
 * Local mode's built-in mail server: accepts every mail on 127.0.0.1 and keeps the last few in memory only,
 * so a fresh local start can send without any SMTP set-up. Plain SMTP, any login accepted, nothing logged,
 * nothing written to disk.
 */
export class MailCatcher {
  static readonly KEEP = 50;
  static readonly MAX_BYTES = 50 * 1024 * 1024;

  private server: SMTPServer | undefined;
  private boundPort = 0;
  private mails: CaughtMail[] = [];
  private waiters = new Set<Waiter>();

  /** The bound port, 0 before `start`. */
  get port(): number {
    return this.boundPort;
  }

  /** Listens on 127.0.0.1:`port` (0 picks a free port) and returns the bound port. */
  async start(port: number): Promise<number> {
    if (this.server) throw new Error('MailCatcher already started');
    const server = new SMTPServer({
      logger: false,
      disableReverseLookup: true,
      closeTimeout: 1000,
      disabledCommands: ['STARTTLS'],
      // A configured username and password work too: any login is accepted, over plain text (loopback only).
      authOptional: true,
      allowInsecureAuth: true,
      authMethods: ['PLAIN', 'LOGIN'],
      size: MailCatcher.MAX_BYTES,
      rejectOversized: true,
      onAuth: (auth, _session, callback) => callback(null, { user: auth.username ?? 'local' }),
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        stream.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes <= MailCatcher.MAX_BYTES) chunks.push(chunk);
        });
        stream.on('end', () => {
          if (stream.sizeExceeded || bytes > MailCatcher.MAX_BYTES) {
            return callback(Object.assign(new Error('Message exceeds the 50 MB limit'), { responseCode: 552 }));
          }
          const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
          this.keep({
            id: randomUUID(),
            receivedAt: new Date(),
            envelope: { from, to: session.envelope.rcptTo.map((r) => r.address) },
            raw: Buffer.concat(chunks),
          });
          callback(null, 'Caught');
        });
      },
    });
    // A client dropping its connection is not an error worth anything here.
    server.on('error', () => undefined);
    this.boundPort = await new Promise<number>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.server.once('error', onError);
      server.listen(port, '127.0.0.1', () => {
        server.server.off('error', onError);
        const address = server.server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
    this.server = server;
    return this.boundPort;
  }

  /** Caught mails, newest first. */
  list(): CaughtMail[] {
    return [...this.mails].reverse();
  }

  get(id: string): CaughtMail | undefined {
    return this.mails.find((m) => m.id === id);
  }

  clear(): void {
    this.mails = [];
  }

  /** Resolves with the newest caught mail that matches, or the next one to arrive; rejects after `timeoutMs`. */
  waitFor(predicate: (mail: CaughtMail) => boolean = () => true, timeoutMs = 5000): Promise<CaughtMail> {
    const present = this.list().find(predicate);
    if (present) return Promise.resolve(present);
    return new Promise<CaughtMail>((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve: (mail) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(mail);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`MailCatcher.waitFor: no matching mail within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Stops listening, closes open sessions and forgets every caught mail. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.mails = [];
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private keep(mail: CaughtMail): void {
    this.mails.push(mail);
    if (this.mails.length > MailCatcher.KEEP) this.mails.splice(0, this.mails.length - MailCatcher.KEEP);
    for (const waiter of [...this.waiters]) if (waiter.predicate(mail)) waiter.resolve(mail);
  }
}
