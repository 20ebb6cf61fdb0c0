/**
 * When a failed SMTP attempt may be made again. The rule that keeps a retry from ever delivering a second copy:
 * only a failure before any byte of the message went over DATA is retried. After that, a lost connection leaves
 * the outcome unknown and a reply (even 4xx) is final for this send.
 */
export interface SmtpRetryPolicy {
  /** Attempts in all, the first included. 1 turns retrying off. */
  attempts: number;
  /** No attempt starts later than this after the first one began. Keep it below SEND_SYNC_TIMEOUT_MS. */
  deadlineMs: number;
  /** The wait before the second attempt; it doubles for each further one, up to maxDelayMs, with jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_SMTP_RETRY: SmtpRetryPolicy = { attempts: 3, deadlineMs: 15_000, baseDelayMs: 1_000, maxDelayMs: 4_000 };

/** Why a failed attempt may be made again: the server said "try later", or the connection failed before the message. */
export type RetryableFailure = { kind: 'reply'; smtpCode: number } | { kind: 'connection' } | { kind: 'timeout'; timeoutType: string | undefined };

// Socket errors that say nothing about the server's configuration, only that this connection did not work out.
const TRANSIENT_SOCKET_CAUSES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Classifies what nodemailer threw for one attempt. `dataSent` is whether the whole message had been handed to the
 * connection: from then on nothing is retried, whatever the error.
 */
export function retryableFailure(err: unknown, dataSent: boolean): RetryableFailure | null {
  if (dataSent || typeof err !== 'object' || err === null) return null;
  const e = err as { code?: unknown; originalCode?: unknown; responseCode?: unknown; timeoutType?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const reply = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  // RFC 5321 4.2.1: 4yz is a transient negative completion, "the same request may succeed later".
  if (reply !== undefined) return reply >= 400 && reply < 500 ? { kind: 'reply', smtpCode: reply } : null;
  if (code === 'ETIMEDOUT') return { kind: 'timeout', timeoutType: typeof e.timeoutType === 'string' ? e.timeoutType : undefined };
  if (code === 'ECONNECTION') return { kind: 'connection' };
  const cause = typeof e.originalCode === 'string' ? e.originalCode : undefined;
  if (code === 'ESOCKET' && cause && TRANSIENT_SOCKET_CAUSES.has(cause)) return { kind: 'connection' };
  return null;
}

/**
 * The wait after failed attempt number `attempt` (1-based): exponential, with "equal jitter" (half fixed, half
 * random) so that sends failing together do not all come back at the same moment, and never much shorter than planned.
 */
export function backoffDelay(attempt: number, policy: SmtpRetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * Whether another attempt fits before the deadline. A timeout already cost its full wait; another one is started
 * only when a second wait of the same length would still end before the deadline.
 */
export function fitsBeforeDeadline(elapsedMs: number, delayMs: number, policy: SmtpRetryPolicy, worstWaitMs = 0): boolean {
  return elapsedMs + delayMs + worstWaitMs <= policy.deadlineMs;
}
