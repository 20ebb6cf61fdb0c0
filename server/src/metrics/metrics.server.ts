import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { AppConfig } from '../config/app-config';
import { LOGGER } from '../config/config.module';
import { bearerMatches } from './metrics-auth';
import { MetricsService } from './metrics.service';

/**
 * Answers one request to the metrics listener: GET or HEAD /metrics (with the bearer token when one is set);
 * anything else is 404 or 405. Nothing of the request is logged or echoed.
 */
export async function serveMetrics(metrics: MetricsService, token: string | null, req: IncomingMessage, res: ServerResponse): Promise<void> {
  res.setHeader('cache-control', 'no-store');
  res.setHeader('x-content-type-options', 'nosniff');
  const path = (req.url ?? '').split('?', 1)[0];
  const plain = (status: number, text: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
    res.end(req.method === 'HEAD' ? undefined : `${text}\n`);
  };
  if (path !== '/metrics') return plain(404, 'Not found. Metrics are at /metrics.');
  if (req.method !== 'GET' && req.method !== 'HEAD') return plain(405, 'Only GET and HEAD.', { allow: 'GET, HEAD' });
  if (token !== null && !bearerMatches(req.headers.authorization, token)) {
    return plain(401, 'This endpoint needs Authorization: Bearer <METRICS_TOKEN>.', { 'www-authenticate': 'Bearer realm="mailpage-metrics"' });
  }
  const { contentType, body } = await metrics.render();
  res.writeHead(200, { 'content-type': contentType });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * The metrics listener (METRICS_HOST:METRICS_PORT), apart from the API port, so a load balancer that publishes the
 * API never publishes the metrics. It listens from bootstrap to the very end of shutdown, so a draining node can still
 * be scraped. If the port is taken, the node runs without it and says so: observability is not worth an outage, and
 * the scraper's `up == 0` shows the gap.
 */
@Injectable()
export class MetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private server: Server | null = null;

  constructor(
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Where the listener is, once it listens. */
  get address(): { host: string; port: number } | null {
    const a = this.server?.address();
    return a && typeof a === 'object' ? { host: a.address, port: a.port } : null;
  }

  async onApplicationBootstrap(): Promise<void> {
    const { port, host, token } = this.config.metrics;
    if (port === 0) return;
    const server = createServer((req, res) => {
      serveMetrics(this.metrics, token, req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end();
      });
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      this.logger.warn({ host, port, code: (e as { code?: unknown })?.code }, 'the metrics listener could not start; this node serves no metrics on its own port');
      return;
    }
    this.server = server;
    this.logger.info({ host, port, tokenRequired: token !== null }, 'metrics listening at /metrics');
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      // A scraper keeps its connection alive; it must not hold the process open.
      server.closeAllConnections();
    });
  }
}
