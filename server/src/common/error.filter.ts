import { ArgumentsHost, Catch, HttpException, type ExceptionFilter } from '@nestjs/common';
import type { ApiError, ErrorCode } from '@mailpage/contract';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
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
    if (status >= 500 && !(error instanceof DomainError)) {
      this.logger.error({ reqId: req.id, errorType: (error as Error)?.name ?? typeof error, stack: error instanceof Error && error.stack ? stackFrames(error.stack) : undefined }, 'unhandled error');
    } else {
      this.logger.info({ reqId: req.id, status, code: body.code }, 'request refused');
    }
    if (!res.headersSent) res.status(status).json(body);
  }

  private map(error: unknown, req: Request): [number, ApiError] {
    if (error instanceof DomainError) {
      return [error.status, { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) }];
    }
    if (error instanceof HttpException) {
      const status = error.getStatus();
      return [status, { code: BY_STATUS[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'VALIDATION_FAILED'), message: httpMessage(status, error, req) }];
    }
    const bodyParserError = error as { type?: string; status?: number };
    if (bodyParserError?.type === 'entity.too.large') return [413, { code: 'PAYLOAD_TOO_LARGE', message: 'The request body is larger than this service accepts; send fewer or smaller files.' }];
    if (bodyParserError?.type === 'entity.parse.failed') return [400, { code: 'VALIDATION_FAILED', message: 'The request body is not valid JSON.' }];
    return [500, { code: 'INTERNAL_ERROR', message: 'Something went wrong on our side; nothing was sent. Try again, and tell the operator if it keeps happening.' }];
  }
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
