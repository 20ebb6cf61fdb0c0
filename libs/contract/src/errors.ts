/** Every error the API answers has this shape. `code` is stable; `message` is a sentence a person can act on. */
export interface ApiError {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export const ERROR_CODES = [
  'VALIDATION_FAILED',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'PAYLOAD_TOO_LARGE',
  'TOO_MANY_RECIPIENTS',
  'RECIPIENT_NOT_ALLOWED',
  'MAIL_TOO_LARGE',
  'IDEMPOTENCY_KEY_REUSED',
  'MAIL_NOT_CONFIGURED',
  'SMTP_HOST_NOT_ALLOWED',
  'SMTP_CONNECT_FAILED',
  'SMTP_TLS_FAILED',
  'SMTP_AUTH_FAILED',
  'SMTP_SENDER_REJECTED',
  'SMTP_RECIPIENT_REJECTED',
  'SMTP_MESSAGE_REJECTED',
  'SMTP_TIMEOUT',
  'SMTP_OUTCOME_UNKNOWN',
  'SMTP_FAILED',
  'CONFLUENCE_UNAVAILABLE',
  'QUOTA_EXCEEDED',
  'RATE_LIMITED',
  'KEY_INVALID',
  'KEY_EXPIRED',
  'KEY_PASSWORD_WRONG',
  'RECIPIENT_KEY_MISSING',
  'SIGNING_KEY_MISSING',
  'SERVICE_UNAVAILABLE',
  'INTERNAL_ERROR',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];
