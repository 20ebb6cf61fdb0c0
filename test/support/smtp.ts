import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface TestSmtpServerOptions {
  /** Certificate and key (PEM). When given, the server offers STARTTLS with them. */
  tls?: { key: string; cert: string };
  /** Implicit TLS from the first byte (port-465 style). Needs `tls`. */
  secure?: boolean;
  /** When given, AUTH PLAIN/LOGIN is required and only these user → password pairs pass. */
  users?: Record<string, string>;
  /** Recipients answered with 550 at RCPT TO (compared case-insensitively). */
  rejectRecipients?: string[];
  /** Accept STARTTLS but do not advertise it, as a server that "has no STARTTLS" looks to a client. */
  hideStartTls?: boolean;
  /** Text the server adds to its 220 greeting, e.g. a marker a test asserts never reaches a user. */
  banner?: string;
  /** Largest message in bytes; a bigger one is answered with 552 after DATA. */
  size?: number;
  /**
   * Drop the TCP connection without any reply: at the first RCPT TO, or after the whole message
   * (including the final dot) was received, the point where the client cannot know whether the mail went out.
   */
  dropConnectionAt?: 'RCPT' | 'DATA_END';
}

export interface ReceivedMail {
  envelope: { from: string; to: string[] };
  /** The message exactly as it came over DATA (dot-unstuffed by the server), headers and body. */
  raw: Buffer;
}

export interface TestSmtpServer {
  port: number;
  /** Every accepted mail, oldest first. */
  mails: ReceivedMail[];
  /** How many TCP connections the server has accepted so far. */
  readonly connectionCount: number;
  /** How many of them are still open (a pooling client keeps its connections open between mails). */
  readonly openConnectionCount: number;
  close(): Promise<void>;
}

/**
 * A real SMTP server (nodemailer's smtp-server) on 127.0.0.1 with a random port, for tests that need a
 * mail server to talk to. Logs nothing. Close it in `afterAll`/`afterEach`.
 */
export async function startTestSmtpServer(opts: TestSmtpServerOptions = {}): Promise<TestSmtpServer> {
  const mails: ReceivedMail[] = [];
  const rejected = new Set((opts.rejectRecipients ?? []).map((a) => a.toLowerCase()));
  let connectionCount = 0;
  if (opts.secure && !opts.tls) throw new Error('startTestSmtpServer: secure needs tls');

  // Without a certificate of our own, smtp-server would offer STARTTLS with its built-in one.
  const disabledCommands = [...(opts.tls ? [] : ['STARTTLS']), ...(opts.users ? [] : ['AUTH'])];
  // Ends the session's connection with no reply at all, the way a crashing server or a broken link looks.
  const drop = (sessionId: string) => [...server.connections].find((c) => c.session.id === sessionId)?.close();

  const options: SMTPServerOptions = {
    logger: false,
    disableReverseLookup: true,
    closeTimeout: 200,
    secure: !!opts.secure,
    ...(opts.tls ? { key: opts.tls.key, cert: opts.tls.cert } : {}),
    hideSTARTTLS: !!opts.hideStartTls,
    ...(opts.banner !== undefined ? { banner: opts.banner } : {}),
    ...(opts.size !== undefined ? { size: opts.size, rejectOversized: true } : {}),
    disabledCommands,
    authOptional: !opts.users,
    allowInsecureAuth: !opts.tls,
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth(auth, _session, callback) {
      const expected = auth.username !== undefined ? opts.users?.[auth.username] : undefined;
      if (expected !== undefined && auth.password === expected) return callback(null, { user: auth.username });
      callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onRcptTo(address, session, callback) {
      if (opts.dropConnectionAt === 'RCPT') return drop(session.id);
      if (rejected.has(address.address.toLowerCase())) {
        return callback(Object.assign(new Error('Mailbox unavailable'), { responseCode: 550 }));
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (opts.dropConnectionAt === 'DATA_END') return drop(session.id);
        if (stream.sizeExceeded) return callback(Object.assign(new Error('Message too large'), { responseCode: 552 }));
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        mails.push({ envelope: { from, to: session.envelope.rcptTo.map((r) => r.address) }, raw: Buffer.concat(chunks) });
        callback(null, 'Queued');
      });
    },
  };

  const server = new SMTPServer(options);
  server.server.on('connection', () => {
    connectionCount++;
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
  // A test client dropping its connection must not crash the run.
  server.on('error', () => undefined);

  return {
    port,
    mails,
    get connectionCount() {
      return connectionCount;
    },
    get openConnectionCount() {
      return server.connections.size;
    },
    // Sessions still open (a pooling client's) are cut after the server's closeTimeout.
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
