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
  /**
   * Fail the first `times` sessions at one point with `code` (then behave): 421 at `CONNECT` is a busy server's
   * greeting, 451 at `RCPT` a greylisting one. At `CONNECT` the server closes the connection after the reply.
   */
  failFirst?: { at: 'CONNECT' | 'MAIL' | 'RCPT' | 'DATA_END'; code: number; times: number };
  /** Wait this long before answering the final dot: a slow server, or one that is busy scanning the mail. */
  delayDataReplyMs?: number;
  /** Never answer the final dot: a server that hangs once it has the message, until the client gives up. */
  silentAfterData?: boolean;
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
  /**
   * Every message that arrived in full (final dot included), whatever the server answered or whether it answered at
   * all: the copies a mailbox could have got. A test for "never two copies" counts these.
   */
  readonly messagesReceived: number;
  /** Sessions that have issued DATA and not yet been answered: sends in progress on a slow server. */
  readonly dataInProgress: number;
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
  let messagesReceived = 0;
  let dataInProgress = 0;
  let failuresLeft = opts.failFirst?.times ?? 0;
  // Transactions already failed by failFirst (a pooled connection carries several): each fails in full, once.
  const failedTransactions = new Set<string>();
  // A transaction starts with MAIL FROM; counting them tells the transactions of one connection apart.
  const mailFromCount = new Map<string, number>();
  // Sessions waiting for their answer to DATA, and how to stop counting them when the session ends first.
  const unanswered = new Map<string, () => void>();
  const failNow = (at: NonNullable<TestSmtpServerOptions['failFirst']>['at'], session: { id: string }): Error | null => {
    const transaction = `${session.id}:${mailFromCount.get(session.id) ?? 0}`;
    if (opts.failFirst?.at !== at || (failuresLeft <= 0 && !failedTransactions.has(transaction))) return null;
    if (!failedTransactions.has(transaction)) {
      failuresLeft--;
      failedTransactions.add(transaction);
    }
    return Object.assign(new Error('Try again later'), { responseCode: opts.failFirst.code });
  };
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
    onClose(session) {
      unanswered.get(session.id)?.();
      mailFromCount.delete(session.id);
    },
    onConnect(session, callback) {
      callback(failNow('CONNECT', session) ?? undefined);
    },
    onMailFrom(_address, session, callback) {
      mailFromCount.set(session.id, (mailFromCount.get(session.id) ?? 0) + 1);
      callback(failNow('MAIL', session) ?? undefined);
    },
    onRcptTo(address, session, callback) {
      if (opts.dropConnectionAt === 'RCPT') return drop(session.id);
      const failure = failNow('RCPT', session);
      if (failure) return callback(failure);
      if (rejected.has(address.address.toLowerCase())) {
        return callback(Object.assign(new Error('Mailbox unavailable'), { responseCode: 550 }));
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      dataInProgress++;
      let answered = false;
      const answer = (err: Error | null, message?: string) => {
        if (answered) return;
        answered = true;
        unanswered.delete(session.id);
        dataInProgress--;
        if (err) callback(err);
        else callback(null, message);
      };
      // A client that gives up (or a drop) ends the session without an answer; it is no longer in progress.
      unanswered.set(session.id, () => answer(null));
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        messagesReceived++;
        if (opts.dropConnectionAt === 'DATA_END') {
          answered = true;
          unanswered.delete(session.id);
          dataInProgress--;
          return drop(session.id);
        }
        if (opts.silentAfterData) return;
        if (stream.sizeExceeded) return answer(Object.assign(new Error('Message too large'), { responseCode: 552 }));
        const failure = failNow('DATA_END', session);
        if (failure) return answer(failure);
        const accept = () => {
          // The session ended while the server was slow: it never said it accepted the mail, so it did not.
          if (answered) return;
          const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
          mails.push({ envelope: { from, to: session.envelope.rcptTo.map((r) => r.address) }, raw: Buffer.concat(chunks) });
          answer(null, 'Queued');
        };
        if (opts.delayDataReplyMs) setTimeout(accept, opts.delayDataReplyMs);
        else accept();
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
    get messagesReceived() {
      return messagesReceived;
    },
    get dataInProgress() {
      return dataInProgress;
    },
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
