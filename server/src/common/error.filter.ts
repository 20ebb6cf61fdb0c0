import { ArgumentsHost, Catch, HttpException, type ExceptionFilter } from '@nestjs/common';
import { truncate, type ApiError, type ErrorCode } from '@mailpage/contract';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { QueryFailedError } from 'typeorm';
import { formatSize } from '../compose/mail-files';
import { UPLOAD_LIMITS } from '../mail/send-request';
import { DomainError } from './domain-error';
import { stackFrames } from './logger';

const BY_STATUS: Record<number, ErrorCode> = { 400: 'VALIDATION_FAILED', 401: 'UNAUTHENTICATED', 403: 'FORBIDDEN', 404: 'NOT_FOUND', 413: 'PAYLOAD_TOO_LARGE', 503: 'SERVICE_UNAVAILABLE' };

/**
 * The one error mapping: a DomainError keeps its code and message; an HttpException (routing, body parsing, uploads)
 * gets a code from its status and a sentence of ours; anything else is logged by type and request id and becomes 500.
 */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<Response>();
    const req = ctx.getRequest<Request & { id?: string }>();
    const [status, body] = this.map(error, req);
    if (databaseUnavailable(error)) {
      this.logger.error({ reqId: req.id, errorType: (error as Error)?.name, code: driverCode(error) }, 'database unavailable');
    } else if (status >= 500 && !(error instanceof DomainError)) {
      this.logger.error({ reqId: req.id, errorType: (error as Error)?.name ?? typeof error, stack: error instanceof Error && error.stack ? stackFrames(error.stack) : undefined }, 'unhandled error');
    } else {
      this.logger.info({ reqId: req.id, status, code: body.code }, 'request refused');
    }
    if (res.headersSent) return;
    // RFC 9110 10.2.3: a 429 or 503 says when to come back (a rate limit's window, a database that is restarting).
    const retryAfter = body.details?.retryAfterSeconds ?? (status === 503 ? DATABASE_RETRY_AFTER_SECONDS : undefined);
    if (typeof retryAfter === 'number' && Number.isFinite(retryAfter)) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(retryAfter))));
    res.status(status).json(body);
  }

  private map(error: unknown, req: Request): [number, ApiError] {
    if (error instanceof DomainError) {
      return [error.status, { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) }];
    }
    if (error instanceof HttpException) {
      // Nest wraps body-parser's and multer's errors, keeping the original as `cause`.
      const known = bodyParserError(error.cause) ?? uploadError(error);
      if (known) return known;
      const status = error.getStatus();
      return [status, { code: BY_STATUS[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'VALIDATION_FAILED'), message: httpMessage(status, error, req) }];
    }
    if (databaseUnavailable(error)) {
      return [503, { code: 'SERVICE_UNAVAILABLE', message: "The service's database is not reachable right now. Try again in a moment." }];
    }
    const parser = bodyParserError(error);
    if (parser) return parser;
    return [500, { code: 'INTERNAL_ERROR', message: 'Something went wrong on our side; nothing was sent. Try again, and tell the operator if it keeps happening.' }];
  }
}

const tooLarge = (message: string): [number, ApiError] => [413, { code: 'PAYLOAD_TOO_LARGE', message }];
const invalid = (message: string, status = 400): [number, ApiError] => [status, { code: 'VALIDATION_FAILED', message }];

/**
 * multer's and busboy's errors, which Nest wraps with the original as `cause` (its `code` and `field`): a limit of
 * the upload is a 413 that names the field, a malformed body a 400 that says what is malformed.
 */
function uploadError(error: HttpException): [number, ApiError] | null {
  const cause = error.cause as { code?: unknown; field?: unknown; message?: unknown } | undefined;
  if (!cause || typeof cause !== 'object') return null;
  const field = typeof cause.field === 'string' ? truncate(cause.field, 40) : null;
  switch (cause.code) {
    case 'LIMIT_FILE_SIZE':
      return tooLarge(`A file in "${field}" is larger than a whole mail may be; leave it out or make it smaller.`);
    case 'LIMIT_UNEXPECTED_FILE':
      if (field === 'attachments' || field === 'images') return tooLarge(`The upload has too many files in "${field}": a mail may carry at most ${UPLOAD_LIMITS[field]}.`);
      return invalid(field ? `The upload has a file in the field "${field}"; files go in "attachments" or "images".` : 'The upload has a file without a field name; files go in "attachments" or "images".');
    case 'LIMIT_FILE_COUNT':
      return tooLarge('The upload has more files than this service accepts in one request.');
    case 'LIMIT_PART_COUNT':
      return tooLarge('The multipart body has more parts than this service accepts in one request.');
    case 'LIMIT_FIELD_COUNT':
      return tooLarge('The multipart body has more text fields than this service accepts; send a list of recipients as one JSON array in "to", "cc" or "bcc".');
    case 'LIMIT_FIELD_VALUE':
      return tooLarge(`The multipart field "${field}" is larger than this service accepts.`);
    case 'LIMIT_FIELD_KEY':
      return invalid('The multipart body has a field name longer than this service accepts.');
    case 'MISSING_FIELD_NAME':
      return invalid('The multipart body has a part without a field name.');
    case 'LIMIT_FIELD_NESTING':
    case 'LIMIT_FIELD_ARRAY_INDEX':
    case 'INVALID_FIELD_NAME':
      return invalid(`The multipart body has a field name${field ? ` ("${field}")` : ''} this API does not use; name fields as in the JSON body (title, html, to, ...).`);
  }
  const message = typeof cause.message === 'string' ? cause.message : '';
  if (/boundary not found/i.test(message)) return invalid('The multipart body is malformed: its Content-Type header has no boundary.');
  if (/malformed part header/i.test(message)) return invalid('The multipart body is malformed: a part has a header that cannot be read.');
  if (/unexpected end of (form|file)/i.test(message)) return invalid('The multipart body is malformed: it ends before its closing boundary (was it cut off?).');
  if (error.getStatus() === 415) return invalid('The request body must be JSON (Content-Type: application/json) or multipart/form-data.', 415);
  return null;
}

/** body-parser's errors (http-errors with a `type`): its limit is a 413 with the sizes, anything else it refuses a 4xx. */
function bodyParserError(error: unknown): [number, ApiError] | null {
  const e = error as { type?: unknown; status?: unknown; expose?: unknown; limit?: unknown; length?: unknown; received?: unknown } | null;
  if (!e || typeof e.type !== 'string') return null;
  const limit = typeof e.limit === 'number' ? e.limit : null;
  const length = typeof e.length === 'number' ? e.length : null;
  switch (e.type) {
    case 'entity.too.large':
      if (limit === null) return tooLarge('The request body is larger than this service accepts; send fewer or smaller images and files.');
      return tooLarge(
        `The request body is ${length === null ? 'larger than' : `${formatSize(length, 'up')}, over`} the limit of ${formatSize(limit, 'down')}; send fewer or smaller images and files.`,
      );
    case 'entity.parse.failed':
      return invalid('The request body is not valid JSON.');
    case 'charset.unsupported':
      return invalid('The request body must be JSON in UTF-8.', 415);
    case 'encoding.unsupported':
      return invalid('The request body has a Content-Encoding this service does not read; send it uncompressed, or with gzip or deflate.', 415);
    case 'request.size.invalid':
      return invalid('The request body does not match its Content-Length.');
    case 'request.aborted':
      return invalid('The request body was not received in full.');
  }
  const status = typeof e.status === 'number' ? e.status : 0;
  return e.expose === true && status >= 400 && status < 500 ? invalid('The request body could not be read.', status) : null;
}

const DATABASE_RETRY_AFTER_SECONDS = 5;

// Driver codes that mean the database cannot be reached or is going away, not that a query was wrong.
const DATABASE_UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_IOERR',
  'SQLITE_CANTOPEN',
]);
const NOT_CONNECTED = new Set(['CannotExecuteNotConnectedError', 'ConnectionIsNotSetError', 'ConnectionNotFoundError']);

/** A TypeORM/mysql2/better-sqlite3 error that says the database is unavailable (mysql2 marks these `fatal`). */
function databaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (NOT_CONNECTED.has(error.name) || error.message === 'Pool is closed.') return true;
  const driver = (error instanceof QueryFailedError ? error.driverError : error) as { code?: unknown; fatal?: unknown };
  const code = typeof driver?.code === 'string' ? driver.code : undefined;
  if (code && DATABASE_UNREACHABLE.has(code)) return error instanceof QueryFailedError || driver.fatal === true || code.startsWith('SQLITE_');
  return driver?.fatal === true && (error instanceof QueryFailedError || !code);
}

function driverCode(error: unknown): string | undefined {
  const driver = (error instanceof QueryFailedError ? error.driverError : error) as { code?: unknown };
  return typeof driver?.code === 'string' ? driver.code : undefined;
}

function httpMessage(status: number, error: HttpException, req: Request): string {
  const raw = error.getResponse();
  const text = typeof raw === 'string' ? raw : String((raw as { message?: unknown }).message ?? '');
  if (status === 404) return `There is no ${req.method} ${req.path} in this API.`;
  if (status === 413) return 'The request is larger than this service accepts; send fewer or smaller files.';
  if (status === 400 && /JSON|Unexpected (token|end)/i.test(text)) return 'The request body is not valid JSON.';
  if (/multipart|boundary/i.test(text)) return 'The multipart body is malformed.';
  if (status === 400) return 'The request is not valid.';
  return status >= 500 ? 'Something went wrong on our side; nothing was sent.' : 'The request was refused.';
}
