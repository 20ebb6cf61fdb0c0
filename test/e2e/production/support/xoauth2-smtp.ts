import { SMTPServer } from 'smtp-server';
import type { FakeIdentityProvider } from './identity-provider';

export interface ReceivedMail {
  envelope: { from: string; to: string[] };
  raw: Buffer;
  /** The SMTP login the mail came in under. */
  user: string;
}

export interface XOAuth2SmtpServer {
  port: number;
  mails: ReceivedMail[];
  /** Every AUTH XOAUTH2 attempt: the user, the token presented and whether it was accepted. */
  logins: { user: string; token: string; accepted: boolean }[];
  /**
   * How a refused token is answered: "challenge" as Gmail does (334 with an error JSON, then 535 after the client's
   * empty line), or "535" at once as Microsoft 365 does ("535 5.7.3 Authentication unsuccessful").
   */
  refusal: 'challenge' | '535';
  close(): Promise<void>;
}

/** An SMTP server (smtp-server) that offers only AUTH XOAUTH2 and asks the fake identity provider about each token. */
export async function startXOAuth2SmtpServer(idp: FakeIdentityProvider, opts: { tls?: { key: string; cert: string }; refusal?: 'challenge' | '535' } = {}): Promise<XOAuth2SmtpServer> {
  const state: Omit<XOAuth2SmtpServer, 'port' | 'close'> = { mails: [], logins: [], refusal: opts.refusal ?? 'challenge' };
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    closeTimeout: 200,
    ...(opts.tls ? { key: opts.tls.key, cert: opts.tls.cert } : { disabledCommands: ['STARTTLS'] }),
    authMethods: ['XOAUTH2'],
    authOptional: false,
    allowInsecureAuth: !opts.tls,
    onAuth(auth, _session, callback) {
      if (auth.method !== 'XOAUTH2' || !auth.accessToken) return callback(Object.assign(new Error('Only XOAUTH2'), { responseCode: 504 }));
      const accepted = idp.isValid(auth.accessToken, auth.username ?? '');
      state.logins.push({ user: auth.username ?? '', token: auth.accessToken, accepted });
      if (accepted) return callback(null, { user: auth.username });
      if (state.refusal === '535') return callback(Object.assign(new Error('5.7.3 Authentication unsuccessful'), { responseCode: 535 }));
      callback(null, { data: { status: '401', schemes: 'bearer', scope: 'https://mail.google.com/' } });
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        state.mails.push({
          envelope: { from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address) },
          raw: Buffer.concat(chunks),
          user: String(session.user ?? ''),
        });
        callback(null, 'Queued');
      });
    },
  });
  server.on('error', () => undefined);
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.server.address() as { port: number }).port));
  });
  return Object.assign(state, { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
}
