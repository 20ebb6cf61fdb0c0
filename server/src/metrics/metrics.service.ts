import { Injectable } from '@nestjs/common';
import { ERROR_CODES } from '@mailpage/contract';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ConfluenceEndpoint } from './confluence-endpoint';

export const SEND_OUTCOMES = ['sent', 'failed', 'unknown', 'refused'] as const;
export type SendOutcomeLabel = (typeof SEND_OUTCOMES)[number];

/** Refusals by the service's own rules; each also has its audit row (permission, rate limit, relay quota). */
const REFUSAL_CODES = new Set(['FORBIDDEN', 'RATE_LIMITED', 'QUOTA_EXCEEDED']);
const KNOWN_CODES = new Set<string>(ERROR_CODES);
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** The `route` of a request that reached no route: 404s, bodies refused before routing, local mode's static files. */
export const UNMATCHED_ROUTE = 'unmatched';

/** The parts of an Express request and response the HTTP counter reads. */
interface HttpRequestLike {
  method: string;
  baseUrl?: string;
  route?: { path?: unknown };
}
interface HttpResponseLike {
  statusCode: number;
  once(event: 'finish', listener: () => void): unknown;
}

/**
 * Prometheus metrics of this process, in a registry of its own (nothing global). Every label value comes from a
 * fixed set (outcomes, error codes, endpoint names, route patterns, methods, status codes): never a tenant, a user,
 * an address, a path with ids in it, or anything of a mail.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly sends: Counter<'outcome'>;
  private readonly sendDuration: Histogram;
  private readonly smtpErrors: Counter<'code'>;
  private readonly poolSources = new Set<() => number>();
  private readonly confluenceDuration: Histogram<'endpoint'>;
  private readonly httpRequests: Counter<'method' | 'route' | 'status'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'mailpage_' });
    const registers = [this.registry];
    this.sends = new Counter({
      name: 'mailpage_sends_total',
      help: 'Sends by outcome: sent (at least one copy accepted), failed (nothing sent), unknown (the connection was lost after the message went out), refused (permission, rate limit or relay quota).',
      labelNames: ['outcome'],
      registers,
    });
    for (const outcome of SEND_OUTCOMES) this.sends.inc({ outcome }, 0);
    this.sendDuration = new Histogram({
      name: 'mailpage_send_duration_seconds',
      help: 'Time from the send request to the SMTP outcome (sent, failed or unknown), retries included.',
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 20, 30, 60, 120],
      registers,
    });
    this.smtpErrors = new Counter({
      name: 'mailpage_smtp_errors_total',
      help: 'Sends that ended in an SMTP error, by error code (after retries).',
      labelNames: ['code'],
      registers,
    });
    const sources = this.poolSources;
    new Gauge({
      name: 'mailpage_smtp_pools_open',
      help: 'SMTP connection pools held open (one per tenant mail server configuration, LRU-bounded by SMTP_POOL_SIZE).',
      registers,
      collect() {
        let open = 0;
        for (const count of sources) open += count();
        this.set(open);
      },
    });
    this.confluenceDuration = new Histogram({
      name: 'mailpage_confluence_request_duration_seconds',
      help: 'Time until Confluence answered a REST call (response headers), by endpoint.',
      labelNames: ['endpoint'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    });
    this.httpRequests = new Counter({
      name: 'mailpage_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
  }

  /** The Prometheus text exposition of every metric. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /**
   * A send handed to SMTP: counted as sent, failed or unknown (`SMTP_OUTCOME_UNKNOWN`) when `delivery` settles, with
   * its duration since `startedAtMs`. Works for sends that already answered 202. Never rejects.
   */
  sendDelivering(delivery: Promise<unknown>, startedAtMs: number): void {
    const finish = (outcome: SendOutcomeLabel) => {
      this.sends.inc({ outcome });
      this.sendDuration.observe(Math.max(0, Date.now() - startedAtMs) / 1000);
    };
    delivery.then(
      () => finish('sent'),
      (e: unknown) => finish(errorCode(e) === 'SMTP_OUTCOME_UNKNOWN' ? 'unknown' : 'failed'),
    );
  }

  /** A send stopped before SMTP. Counted as refused only for a permission, rate-limit or quota refusal (an error or its code). */
  sendRefused(reason: unknown): void {
    const code = typeof reason === 'string' ? reason : errorCode(reason);
    if (code && REFUSAL_CODES.has(code)) this.sends.inc({ outcome: 'refused' });
  }

  /** A send failed in SMTP: its error code (one of ERROR_CODES; anything else is INTERNAL_ERROR). */
  smtpError(error: unknown): void {
    const code = errorCode(error);
    this.smtpErrors.inc({ code: code && KNOWN_CODES.has(code) ? code : 'INTERNAL_ERROR' });
  }

  /** Adds a source of open SMTP pools to `mailpage_smtp_pools_open`; the returned function removes it. */
  countSmtpPools(source: () => number): () => void {
    this.poolSources.add(source);
    return () => this.poolSources.delete(source);
  }

  /** Starts timing a Confluence call; call the returned function when it answered (or failed). */
  timeConfluence(endpoint: ConfluenceEndpoint): () => void {
    const end = this.confluenceDuration.startTimer({ endpoint });
    return () => void end();
  }

  /** Express middleware: counts each answered request under the route pattern Nest matched (`/api/pages/:pageId/attachments`). */
  readonly httpMiddleware = (req: HttpRequestLike, res: HttpResponseLike, next: () => void): void => {
    // Express sets req.route when a route matches and keeps it; guards and filters answer inside that route.
    res.once('finish', () => this.httpRequest(req.method, routeOf(req), res.statusCode));
    next();
  };

  httpRequest(method: string, route: string, status: number): void {
    const m = method.toUpperCase();
    this.httpRequests.inc({ method: METHODS.has(m) ? m : 'OTHER', route, status: String(status) });
  }
}

function routeOf(req: HttpRequestLike): string {
  const path = req.route?.path;
  return typeof path === 'string' ? `${req.baseUrl ?? ''}${path}` : UNMATCHED_ROUTE;
}

function errorCode(e: unknown): string | null {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : null;
}
