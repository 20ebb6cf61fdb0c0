import { ArgumentsHost, Catch, HttpException, type ExceptionFilter } from '@nestjs/common';
import type { ApiError, ErrorCode } from '@mailpage/contract';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { QueryFailedError } from 'typeorm';
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
      const status = error.getStatus();
      return [status, { code: BY_STATUS[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'VALIDATION_FAILED'), message: httpMessage(status, error, req) }];
    }
    if (databaseUnavailable(error)) {
      return [503, { code: 'SERVICE_UNAVAILABLE', message: "The service's database is not reachable right now. Try again in a moment." }];
    }
    const bodyParserError = error as { type?: string; status?: number };
    if (bodyParserError?.type === 'entity.too.large') return [413, { code: 'PAYLOAD_TOO_LARGE', message: 'The request body is larger than this service accepts; send fewer or smaller files.' }];
    if (bodyParserError?.type === 'entity.parse.failed') return [400, { code: 'VALIDATION_FAILED', message: 'The request body is not valid JSON.' }];
    return [500, { code: 'INTERNAL_ERROR', message: 'Something went wrong on our side; nothing was sent. Try again, and tell the operator if it keeps happening.' }];
  }
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
  if (status === 413) {
    if (/file too large/i.test(text)) return 'An uploaded file is larger than the mail size limit; leave it out or make it smaller.';
    return 'The request is larger than this service accepts; send fewer or smaller files.';
  }
  if (status === 400 && /JSON|Unexpected (token|end)/i.test(text)) return 'The request body is not valid JSON.';
  if (/unexpected field/i.test(text)) return 'The upload has a file field other than "attachments" or "images".';
  if (/too many files/i.test(text)) return 'The upload has too many files.';
  if (/multipart|boundary/i.test(text)) return 'The multipart body is malformed.';
  if (status === 400) return 'The request is not valid.';
  return status >= 500 ? 'Something went wrong on our side; nothing was sent.' : 'The request was refused.';
}
