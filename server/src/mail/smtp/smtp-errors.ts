import { DomainError } from '../../common/domain-error';
import type { SmtpTarget } from './smtp.types';

/**
 * How far the attempt got. Only after the whole message was handed to the server can a lost connection leave
 * the outcome unknown; before that nothing can have been delivered.
 */
export type SmtpStage = 'verify' | 'before-data' | 'data-sent';

/** The settings an error message may name: they are the admin's configuration, not mail content. */
export type SmtpErrorTarget = Pick<SmtpTarget, 'host' | 'port' | 'security'>;

/** The fields nodemailer puts on its errors that this mapping reads. */
interface SmtpErrorFields {
  code?: unknown;
  originalCode?: unknown;
  responseCode?: unknown;
  command?: unknown;
  timeoutType?: unknown;
  rejected?: unknown;
}

const NAME_MISMATCH = new Set(['ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH']);
const CERT_DATES: Record<string, string> = {
  CERT_HAS_EXPIRED: 'has expired',
  ERROR_IN_CERT_NOT_AFTER_FIELD: 'has an invalid expiry date',
  CERT_NOT_YET_VALID: 'is not valid yet',
  ERROR_IN_CERT_NOT_BEFORE_FIELD: 'has an invalid start date',
};
// OpenSSL verification results that all mean "this chain does not lead to an authority we trust".
const CERT_UNTRUSTED = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
]);
// What a TLS client sees when the other end does not speak TLS at all (a plain SMTP greeting instead).
const NOT_TLS = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_HTTP_REQUEST']);
const OLD_TLS = new Set([
  'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
  'ERR_SSL_UNSUPPORTED_PROTOCOL',
  'ERR_SSL_NO_PROTOCOLS_AVAILABLE',
  'ERR_SSL_VERSION_TOO_LOW',
]);
const SOCKET_REASONS: Record<string, string> = {
  ECONNREFUSED: 'the connection was refused',
  ECONNRESET: 'the connection was reset',
  EHOSTUNREACH: 'the host cannot be reached from this service',
  ENETUNREACH: 'the host cannot be reached from this service',
  EADDRNOTAVAIL: 'the address is not available',
  ETIMEDOUT: 'the connection timed out',
  EPIPE: 'the connection was closed',
};

/**
 * Turns whatever the SMTP transport threw into one DomainError a person can act on. Messages name the host and
 * port the admin configured and, where there is one, the SMTP reply code (`details.smtpCode`); they never carry
 * the server's banner or reply text, nor a socket error's own message.
 */
export function mapSmtpError(err: unknown, target: SmtpErrorTarget, stage: SmtpStage = 'before-data'): DomainError {
  if (err instanceof DomainError) return err;
  const e: SmtpErrorFields = typeof err === 'object' && err !== null ? err : {};
  const code = str(e.code);
  const cause = str(e.originalCode) ?? code;
  const command = str(e.command) ?? '';
  const reply = typeof e.responseCode === 'number' && e.responseCode >= 200 && e.responseCode < 600 ? e.responseCode : undefined;
  const at = where(target);
  const withCode = (extra?: Record<string, unknown>) => (reply || extra ? { ...(reply ? { smtpCode: reply } : {}), ...extra } : undefined);
  const replied = reply ? ` (reply ${reply})` : '';
  const transient = reply !== undefined && reply < 500;
  const nothingSent = stage === 'before-data' ? ' The message was not sent.' : '';

  const fail = (errorCode: ConstructorParameters<typeof DomainError>[0], status: number, message: string, extra?: Record<string, unknown>) =>
    new DomainError(errorCode, status, message, withCode(extra));

  // Certificate and TLS handshake failures arrive as socket errors; the TLS error code says which.
  if (cause && NAME_MISMATCH.has(cause)) {
    return fail('SMTP_TLS_FAILED', 502, `The certificate of the mail server at ${at} is not valid for the name ${target.host.trim()}. Use the host name the certificate was issued for.`);
  }
  if (cause && CERT_DATES[cause]) {
    return fail('SMTP_TLS_FAILED', 502, `The certificate of the mail server at ${at} ${CERT_DATES[cause]}. The server's operator needs to renew it.`);
  }
  if (cause && CERT_UNTRUSTED.has(cause)) {
    return fail(
      'SMTP_TLS_FAILED',
      502,
      `The certificate of the mail server at ${at} is not trusted: it is self-signed, issued by an unknown authority, or sent without its intermediate certificates. ` +
        'The server needs a certificate from a public certificate authority, or a site admin can add the authority that issued it as the trusted CA in the mail server settings.',
    );
  }
  if (cause && NOT_TLS.has(cause)) {
    return fail(
      'SMTP_TLS_FAILED',
      502,
      target.security === 'tls'
        ? `The mail server at ${at} did not answer with TLS. If this port uses STARTTLS (usually 587 or 25), choose STARTTLS as the security setting.`
        : `The mail server at ${at} did not complete the TLS handshake.`,
    );
  }
  if (cause && OLD_TLS.has(cause)) {
    return fail('SMTP_TLS_FAILED', 502, `The mail server at ${at} only offers TLS versions older than 1.2, which this service does not use.`);
  }
  if (code === 'ETLS') {
    if (command === 'STARTTLS' && reply) {
      return fail(
        'SMTP_TLS_FAILED',
        502,
        transient
          ? `The mail server at ${at} could not start TLS right now${replied}. Try again later.`
          : `The mail server at ${at} does not offer STARTTLS${replied}, but the security setting requires it. ` +
              (target.port === 465 ? 'Port 465 usually uses implicit TLS: choose TLS.' : 'If the server uses implicit TLS (usually port 465), choose TLS.'),
      );
    }
    return fail('SMTP_TLS_FAILED', 502, `The TLS handshake with the mail server at ${at} failed.`);
  }
  if (cause?.startsWith('ERR_SSL_') || cause?.startsWith('ERR_TLS_') || cause === 'EPROTO') {
    return fail('SMTP_TLS_FAILED', 502, `The TLS handshake with the mail server at ${at} failed.`);
  }
  if (reply === 538) {
    return fail('SMTP_TLS_FAILED', 502, `The mail server at ${at} requires an encrypted connection${replied}. Choose STARTTLS or TLS as the security setting.`);
  }

  // A reply code means the server answered: whatever it said, the outcome is known.
  if (stage === 'data-sent' && !reply && (code === 'ECONNECTION' || code === 'ESOCKET' || code === 'ETIMEDOUT')) {
    return fail(
      'SMTP_OUTCOME_UNKNOWN',
      502,
      `The connection to the mail server at ${at} was lost after the message was sent and before the server confirmed it. ` +
        'The mail may or may not have been delivered: check with the recipients before sending it again.',
    );
  }

  if (code === 'EAUTH' || code === 'ENOAUTH') {
    if (reply === 530 || code === 'ENOAUTH') {
      return fail('SMTP_AUTH_FAILED', 502, `The mail server at ${at} requires a login${replied}. Enter a username and password.`);
    }
    if (reply === 502 || reply === 503 || reply === 504) {
      return fail(
        'SMTP_AUTH_FAILED',
        502,
        `The mail server at ${at} does not offer a login on this connection${replied}. Many servers only offer it over STARTTLS or TLS; otherwise remove the username and password.`,
      );
    }
    if (transient) {
      return fail('SMTP_AUTH_FAILED', 502, `The mail server at ${at} could not check the username and password right now${replied}. Try again later.`);
    }
    return fail('SMTP_AUTH_FAILED', 502, `The mail server refused the username or password${replied}.`);
  }

  if (code === 'EENVELOPE' || code === 'EMESSAGE') {
    if (command === 'MAIL FROM' && reply === 530) {
      return fail('SMTP_AUTH_FAILED', 502, `The mail server at ${at} requires a login before it accepts mail${replied}. Enter a username and password.`);
    }
    if (command === 'MAIL FROM' && code === 'EMESSAGE') {
      return fail('SMTP_MESSAGE_REJECTED', 502, `The message is larger than the mail server at ${at} accepts.`);
    }
    if (command === 'MAIL FROM') {
      return fail(
        'SMTP_SENDER_REJECTED',
        502,
        transient
          ? `The mail server at ${at} did not accept the sender address right now${replied}. Try again later.`
          : `The mail server at ${at} refused the sender address${replied}. Check that the account may send as the configured From address.`,
      );
    }
    if (command === 'RCPT TO' || Array.isArray(e.rejected)) {
      const rejected = Array.isArray(e.rejected) ? e.rejected.filter((a): a is string => typeof a === 'string') : undefined;
      // The addresses are the sender's own input: naming them tells the person which one to fix.
      const whom = rejected?.length ? `${rejected.length === 1 ? 'the recipient' : 'the recipients'} ${listAddresses(rejected)}` : undefined;
      return fail(
        'SMTP_RECIPIENT_REJECTED',
        422,
        transient
          ? `The mail server at ${at} did not accept ${whom ?? 'any of the recipients'} right now${replied}. Try again later.`
          : `The mail server at ${at} refused ${whom ?? 'every recipient'}${replied}.`,
        rejected ? { rejected } : undefined,
      );
    }
    if (command === 'DATA') {
      if (reply === 552) {
        return fail('SMTP_MESSAGE_REJECTED', 502, `The message is too large for the mail server at ${at}${replied}.`);
      }
      return fail(
        'SMTP_MESSAGE_REJECTED',
        502,
        transient
          ? `The mail server at ${at} did not accept the message right now${replied}. Try again later.`
          : `The mail server at ${at} refused the message${replied}.`,
      );
    }
    // Refused by nodemailer before anything was sent: an address it cannot put on the wire.
    return new DomainError('VALIDATION_FAILED', 400, 'The message has no valid sender or recipient address.');
  }

  if (code === 'ETIMEDOUT') {
    const hint465 = target.port === 465 && target.security !== 'tls' ? ' Port 465 usually uses implicit TLS: choose TLS as the security setting.' : '';
    switch (e.timeoutType) {
      case 'CONNECT_TIMEOUT':
        return fail('SMTP_TIMEOUT', 504, `The mail server at ${at} did not accept a connection in time. Check the host and port, and that the server accepts connections from this service.`);
      case 'GREETING_TIMEOUT':
        return fail('SMTP_TIMEOUT', 504, `The mail server at ${at} accepted the connection but did not greet in time.${hint465}`);
      case 'UPGRADE_TIMEOUT':
        return fail('SMTP_TIMEOUT', 504, `The TLS handshake with the mail server at ${at} did not finish in time.`);
      case 'SEND_TIMEOUT':
        return fail('SMTP_TIMEOUT', 504, `The mail server at ${at} did not finish taking the message in time.${nothingSent}`);
      default:
        return fail('SMTP_TIMEOUT', 504, `The mail server at ${at} stopped answering.${nothingSent}`);
    }
  }

  if (code === 'ESOCKET' || code === 'ECONNECTION' || code === 'EDNS' || code === 'EPROXY') {
    if (reply === 421) {
      return fail('SMTP_CONNECT_FAILED', 502, `The mail server at ${at} is not accepting mail right now${replied}. Try again later.${nothingSent}`);
    }
    if (reply) {
      return fail('SMTP_CONNECT_FAILED', 502, `The mail server at ${at} ended the session${replied}.${nothingSent}`);
    }
    if (code === 'EDNS' || cause === 'ENOTFOUND' || cause === 'EAI_AGAIN') {
      return fail('SMTP_CONNECT_FAILED', 502, `Could not find the mail server host ${target.host.trim()}: the name does not resolve. Check the host name.`);
    }
    const reason = (cause && SOCKET_REASONS[cause]) ?? (code === 'ECONNECTION' ? 'the server closed the connection unexpectedly' : 'the connection failed');
    return fail(
      'SMTP_CONNECT_FAILED',
      502,
      `Could not connect to ${at}: ${reason}. Check the host and port, and that the server accepts connections from this service.${nothingSent}`,
    );
  }

  if (code === 'EPROTOCOL') {
    if (command === 'CONN' && reply) {
      // A 4xx greeting (usually 421) is the server saying it is busy or throttling, not that it refuses this service.
      return fail(
        'SMTP_CONNECT_FAILED',
        502,
        transient ? `The mail server at ${at} is not accepting mail right now${replied}. Try again later.${nothingSent}` : `The mail server at ${at} refused the connection${replied}.`,
      );
    }
    return fail('SMTP_FAILED', 502, `The server at ${at} did not answer like a mail server. Check the host and port.`);
  }

  return fail('SMTP_FAILED', 502, `Sending through the mail server at ${at} failed${replied}.${nothingSent}`);
}

/** Adds how many attempts a send made to the error it ended with, for a person deciding whether to try again. */
export function withAttempts(err: DomainError, attempts: number): DomainError {
  if (attempts <= 1) return err;
  return new DomainError(err.code, err.status, `${err.message} Tried ${attempts} times.`, { ...err.details, attempts });
}

function listAddresses(addresses: string[]): string {
  const shown = addresses.slice(0, 5).join(', ');
  return addresses.length > 5 ? `${shown} and ${addresses.length - 5} more` : shown;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value ? value : undefined;
}

function where(target: SmtpErrorTarget): string {
  const host = target.host.trim();
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${target.port}`;
}
