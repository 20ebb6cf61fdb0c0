import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_SMTP_RETRY, fitsBeforeDeadline, retryableFailure } from './smtp-retry';

describe('which SMTP failures are tried again', () => {
  it('retries a 4xx reply at any step before the message: greeting, MAIL, RCPT, the DATA command', () => {
    expect(retryableFailure({ code: 'EPROTOCOL', command: 'CONN', responseCode: 421 }, false)).toEqual({ kind: 'reply', smtpCode: 421 });
    expect(retryableFailure({ code: 'EENVELOPE', command: 'MAIL FROM', responseCode: 451 }, false)).toEqual({ kind: 'reply', smtpCode: 451 });
    expect(retryableFailure({ code: 'EENVELOPE', command: 'RCPT TO', responseCode: 450, rejected: ['a@example.com'] }, false)).toEqual({ kind: 'reply', smtpCode: 450 });
    expect(retryableFailure({ code: 'EENVELOPE', command: 'DATA', responseCode: 452 }, false)).toEqual({ kind: 'reply', smtpCode: 452 });
  });

  it('retries a refused, reset or dropped connection before the message', () => {
    expect(retryableFailure({ code: 'ESOCKET', originalCode: 'ECONNREFUSED' }, false)).toEqual({ kind: 'connection' });
    expect(retryableFailure({ code: 'ESOCKET', originalCode: 'ECONNRESET' }, false)).toEqual({ kind: 'connection' });
    expect(retryableFailure({ code: 'ECONNECTION', command: 'CONN' }, false)).toEqual({ kind: 'connection' });
    expect(retryableFailure({ code: 'ETIMEDOUT', timeoutType: 'GREETING_TIMEOUT' }, false)).toEqual({ kind: 'timeout', timeoutType: 'GREETING_TIMEOUT' });
  });

  it('never retries once the message went over DATA, whatever happened then', () => {
    for (const err of [{ code: 'ECONNECTION' }, { code: 'ETIMEDOUT' }, { code: 'EMESSAGE', command: 'DATA', responseCode: 451 }, { code: 'EMESSAGE', responseCode: 421 }]) {
      expect(retryableFailure(err, true)).toBeNull();
    }
  });

  it('never retries a permanent refusal or a problem with the settings', () => {
    expect(retryableFailure({ code: 'EENVELOPE', command: 'RCPT TO', responseCode: 550 }, false)).toBeNull();
    expect(retryableFailure({ code: 'EAUTH', command: 'AUTH PLAIN', responseCode: 535 }, false)).toBeNull();
    expect(retryableFailure({ code: 'ESOCKET', originalCode: 'CERT_HAS_EXPIRED' }, false)).toBeNull();
    expect(retryableFailure({ code: 'ETLS' }, false)).toBeNull();
    expect(retryableFailure({ code: 'EDNS', originalCode: 'ENOTFOUND' }, false)).toBeNull();
    expect(retryableFailure({ code: 'EENVELOPE' }, false)).toBeNull();
    expect(retryableFailure({ code: 'EABORT' }, false)).toBeNull();
    expect(retryableFailure(new Error('something else'), false)).toBeNull();
    expect(retryableFailure('a string', false)).toBeNull();
  });
});

describe('backoff between attempts', () => {
  it('doubles from the base delay up to the ceiling, half of it fixed and half jitter', () => {
    const policy = { ...DEFAULT_SMTP_RETRY, baseDelayMs: 1000, maxDelayMs: 4000 };
    expect(backoffDelay(1, policy, () => 0)).toBe(500);
    expect(backoffDelay(1, policy, () => 1)).toBe(1000);
    expect(backoffDelay(2, policy, () => 0)).toBe(1000);
    expect(backoffDelay(2, policy, () => 0.5)).toBe(1500);
    expect(backoffDelay(3, policy, () => 1)).toBe(4000);
    expect(backoffDelay(10, policy, () => 1)).toBe(4000);
  });

  it('spreads the waits of sends that failed together', () => {
    const waits = new Set(Array.from({ length: 50 }, () => backoffDelay(1, DEFAULT_SMTP_RETRY)));
    expect(waits.size).toBeGreaterThan(10);
    for (const w of waits) expect(w).toBeGreaterThanOrEqual(DEFAULT_SMTP_RETRY.baseDelayMs / 2);
  });

  it('starts another attempt only when it, and a timeout wait if the last one timed out, fits before the deadline', () => {
    const policy = { ...DEFAULT_SMTP_RETRY, deadlineMs: 15_000 };
    expect(fitsBeforeDeadline(3_000, 1_000, policy)).toBe(true);
    expect(fitsBeforeDeadline(14_500, 1_000, policy)).toBe(false);
    // After a 10 s greeting timeout, another 10 s wait would end past 15 s.
    expect(fitsBeforeDeadline(10_000, 500, policy, 10_000)).toBe(false);
    expect(fitsBeforeDeadline(1_500, 500, policy, 1_500)).toBe(true);
  });

  it('keeps the default deadline below the default synchronous send limit of 20 s', () => {
    expect(DEFAULT_SMTP_RETRY.deadlineMs).toBeLessThan(20_000);
    expect(DEFAULT_SMTP_RETRY.attempts).toBe(3);
  });
});
