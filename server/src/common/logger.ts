import type { LoggerService } from '@nestjs/common';
import pino, { type Logger } from 'pino';
import type { LogLevel } from '../config/app-config';

/**
 * JSON logs with pino. What goes in a log line is chosen field by field: request method, path (no query string),
 * status, duration, request id, error codes and types. Never a header, a body, a token or any mail content.
 * Redaction is the second line of defence for fields that must never appear even if someone adds them.
 */
export function createLogger(level: LogLevel): Logger {
  return pino({
    level,
    base: undefined,
    redact: {
      paths: ['req.headers', 'headers', 'authorization', '*.authorization', 'password', '*.password', 'pass', '*.pass', 'token', '*.token', 'body', '*.body', 'html', '*.html', 'raw', '*.raw'],
      censor: '[redacted]',
    },
  });
}

/** Nest's own messages (start-up, routes) through pino. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string) {
    this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string) {
    this.logger.error({ context, trace: trace && stackFrames(trace) }, String(message));
  }
  warn(message: unknown, context?: string) {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string) {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string) {
    this.logger.trace({ context }, String(message));
  }
}

/** The frames of a stack without its first line: the message of an unknown error may quote data. */
export function stackFrames(stack: string): string {
  return stack
    .split('\n')
    .filter((l) => /^\s+at /.test(l))
    .join('\n');
}
