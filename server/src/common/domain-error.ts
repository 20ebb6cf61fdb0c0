import type { ErrorCode } from '@mailpage/contract';

/**
 * A failure a person can act on. The error filter turns it into `{ code, message, details }` with `status`.
 * `message` must never hold mail content, a secret or a remote server's raw reply.
 */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly status: number,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const badRequest = (message: string, details?: Record<string, unknown>) => new DomainError('VALIDATION_FAILED', 400, message, details);
