import { describe, expect, it } from 'vitest';
import { DomainError } from '../../common/domain-error';
import { mapSmtpError, type SmtpStage } from './smtp-errors';

// Shaped like the errors nodemailer 10 throws (see smtp-pool.db.spec.ts for the ones real servers produce).
const SECRET_REPLY = 'SERVER-SECRET-TEXT mx7.internal.corp';
const nm = (fields: Record<string, unknown>, message = `Something failed: ${SECRET_REPLY}`) =>
  Object.assign(new Error(message), { response: fields.responseCode ? `${String(fields.responseCode)} ${SECRET_REPLY}` : undefined }, fields);
const target = { host: 'smtp.example.com', port: 587, security: 'starttls' as const };
const map = (fields: Record<string, unknown>, stage?: SmtpStage, t: typeof target | { host: string; port: number; security: 'tls' | 'starttls' | 'none' } = target) =>
  mapSmtpError(nm(fields), t, stage);

function expectClean(err: DomainError): void {
  const shown = JSON.stringify({ message: err.message, details: err.details });
  expect(shown).not.toContain('SERVER-SECRET-TEXT');
  expect(shown).not.toContain('mx7.internal');
  expect(shown).not.toContain('Something failed');
}

describe('SMTP error mapping', () => {
  it('says the mail may have been delivered when the connection drops after the data was handed over', () => {
    for (const code of ['ECONNECTION', 'ESOCKET', 'ETIMEDOUT']) {
      const err = map({ code, command: 'CONN' }, 'data-sent');
      expect(err.code).toBe('SMTP_OUTCOME_UNKNOWN');
      expect(err.status).toBe(502);
      expect(err.message).toContain('may or may not have been delivered');
      expectClean(err);
    }
  });

  it('says nothing was sent when the same drop happens before the data', () => {
    const err = map({ code: 'ECONNECTION', command: 'CONN' }, 'before-data');
    expect(err.code).toBe('SMTP_CONNECT_FAILED');
    expect(err.message).toContain('The message was not sent.');
  });

  it('treats a final reply as a known outcome even after the data was sent', () => {
    const err = map({ code: 'EMESSAGE', command: 'DATA', responseCode: 554 }, 'data-sent');
    expect(err.code).toBe('SMTP_MESSAGE_REJECTED');
    expect(err.details).toEqual({ smtpCode: 554 });
  });

  it('names a refused connection with the configured host and port', () => {
    const err = map({ code: 'ESOCKET', originalCode: 'ECONNREFUSED', command: 'CONN' }, 'verify');
    expect(err.code).toBe('SMTP_CONNECT_FAILED');
    expect(err.message).toBe(
      'Could not connect to smtp.example.com:587: the connection was refused. Check the host and port, and that the server accepts connections from this service.',
    );
    expect(err.details).toBeUndefined();
  });

  it('brackets an IPv6 host in messages', () => {
    const err = map({ code: 'ESOCKET', originalCode: 'ECONNREFUSED' }, 'verify', { host: '2001:db8::1', port: 25, security: 'none' });
    expect(err.message).toContain('[2001:db8::1]:25');
  });

  it('tells expired, untrusted and wrongly named certificates apart', () => {
    expect(map({ code: 'ESOCKET', originalCode: 'CERT_HAS_EXPIRED' }).message).toContain('has expired');
    expect(map({ code: 'ESOCKET', originalCode: 'SELF_SIGNED_CERT_IN_CHAIN' }).message).toContain('is not trusted');
    expect(map({ code: 'ESOCKET', originalCode: 'DEPTH_ZERO_SELF_SIGNED_CERT' }).message).toContain('is not trusted');
    const mismatch = map({ code: 'ESOCKET', originalCode: 'ERR_TLS_CERT_ALTNAME_INVALID', reason: SECRET_REPLY });
    expect(mismatch.code).toBe('SMTP_TLS_FAILED');
    expect(mismatch.message).toContain('not valid for the name smtp.example.com');
    expectClean(mismatch);
  });

  it('suggests STARTTLS when implicit TLS meets a plain server, and TLS when port 465 gets STARTTLS', () => {
    const tlsToPlain = map({ code: 'ESOCKET', originalCode: 'ERR_SSL_WRONG_VERSION_NUMBER' }, 'verify', { ...target, security: 'tls' });
    expect(tlsToPlain.code).toBe('SMTP_TLS_FAILED');
    expect(tlsToPlain.message).toContain('choose STARTTLS');
    const noStartTls = map({ code: 'ETLS', command: 'STARTTLS', responseCode: 502 }, 'verify', { ...target, port: 465 });
    expect(noStartTls.code).toBe('SMTP_TLS_FAILED');
    expect(noStartTls.message).toContain('does not offer STARTTLS');
    expect(noStartTls.message).toContain('choose TLS');
    const greeting = map({ code: 'ETIMEDOUT', timeoutType: 'GREETING_TIMEOUT' }, 'verify', { ...target, port: 465 });
    expect(greeting.code).toBe('SMTP_TIMEOUT');
    expect(greeting.status).toBe(504);
    expect(greeting.message).toContain('choose TLS');
  });

  it('asks for encryption when the server requires it before login', () => {
    const err = map({ code: 'EAUTH', command: 'AUTH PLAIN', responseCode: 538 }, 'verify', { ...target, security: 'none' });
    expect(err.code).toBe('SMTP_TLS_FAILED');
    expect(err.message).toContain('Choose STARTTLS or TLS');
  });

  it('maps login failures to SMTP_AUTH_FAILED with the reply code only', () => {
    const wrong = map({ code: 'EAUTH', command: 'AUTH PLAIN', responseCode: 535 });
    expect(wrong).toMatchObject({ code: 'SMTP_AUTH_FAILED', status: 502, details: { smtpCode: 535 } });
    expect(wrong.message).toBe('The mail server refused the username or password (reply 535).');
    expectClean(wrong);
    expect(map({ code: 'EAUTH', responseCode: 454 }).message).toContain('Try again later');
    expect(map({ code: 'EENVELOPE', command: 'MAIL FROM', responseCode: 530 }).code).toBe('SMTP_AUTH_FAILED');
  });

  it('maps a refused sender, refused recipients and a refused message to their own codes', () => {
    const sender = map({ code: 'EENVELOPE', command: 'MAIL FROM', responseCode: 553 });
    expect(sender).toMatchObject({ code: 'SMTP_SENDER_REJECTED', status: 502, details: { smtpCode: 553 } });
    const recipients = map({ code: 'EENVELOPE', command: 'RCPT TO', responseCode: 550, rejected: ['a@example.com', 'b@example.com'] });
    expect(recipients).toMatchObject({ code: 'SMTP_RECIPIENT_REJECTED', status: 422, details: { smtpCode: 550, rejected: ['a@example.com', 'b@example.com'] } });
    const tooLarge = map({ code: 'EMESSAGE', command: 'DATA', responseCode: 552 }, 'data-sent');
    expect(tooLarge).toMatchObject({ code: 'SMTP_MESSAGE_REJECTED', status: 502, details: { smtpCode: 552 } });
    expect(tooLarge.message).toContain('too large');
    const sizeCheck = map({ code: 'EMESSAGE', command: 'MAIL FROM' });
    expect(sizeCheck.code).toBe('SMTP_MESSAGE_REJECTED');
    for (const err of [sender, recipients, tooLarge]) expectClean(err);
  });

  it('calls a 4xx reply temporary', () => {
    expect(map({ code: 'EENVELOPE', command: 'RCPT TO', responseCode: 450, rejected: ['a@example.com'] }).message).toContain('right now');
    expect(map({ code: 'EMESSAGE', command: 'DATA', responseCode: 451 }).message).toContain('Try again later');
    expect(map({ code: 'ECONNECTION', command: 'CONN', responseCode: 421 }, 'data-sent')).toMatchObject({ code: 'SMTP_CONNECT_FAILED', details: { smtpCode: 421 } });
  });

  it('maps timeouts to SMTP_TIMEOUT', () => {
    for (const timeoutType of ['CONNECT_TIMEOUT', 'GREETING_TIMEOUT', 'UPGRADE_TIMEOUT', 'SOCKET_TIMEOUT']) {
      expect(map({ code: 'ETIMEDOUT', timeoutType, command: 'CONN' })).toMatchObject({ code: 'SMTP_TIMEOUT', status: 504 });
    }
  });

  it('falls back to SMTP_FAILED for anything else, without the original message', () => {
    for (const err of [nm({ code: 'EMAXLIMIT' }), new Error(SECRET_REPLY), 'a string', null, undefined, { code: 42 }]) {
      const mapped = mapSmtpError(err, target);
      expect(mapped.code).toBe('SMTP_FAILED');
      expect(mapped.status).toBe(502);
      expectClean(mapped);
    }
  });

  it('passes a DomainError through unchanged', () => {
    const original = new DomainError('SMTP_HOST_NOT_ALLOWED', 422, 'no');
    expect(mapSmtpError(original, target)).toBe(original);
  });
});
