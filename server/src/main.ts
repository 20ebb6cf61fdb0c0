import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { AppModule } from './app.module';
import { AppConfig, ConfigError, loadConfig } from './config/app-config';
import { createLogger, PinoNestLogger } from './common/logger';
import { Lifecycle } from './health/lifecycle-state';
import { MetricsService } from './metrics/metrics.service';

/** The Angular build (npm run build:client). */
export const CLIENT_DIR = resolve(__dirname, '../../../client/dist/mailpage/browser');

export async function createApp(config: AppConfig, logger: Logger): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, logger), {
    logger: new PinoNestLogger(logger.child({ component: 'nest' })),
    bodyParser: false,
  });
  app.disable('x-powered-by');
  // First of all middleware: shutdown waits for the requests it counts before the HTTP server closes.
  app.use(app.get(Lifecycle).countRequests);
  app.use(app.get(MetricsService).httpMiddleware);
  app.set('trust proxy', config.mode === 'production' ? 1 : false);
  app.use(securityHeaders(config));
  app.use(
    pinoHttp({
      logger,
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID();
        res.setHeader('x-request-id', id);
        return id;
      },
      // Method, path without query string, status and time: nothing else of a request is logged.
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, path: req.url.split('?')[0] }),
        res: (res: { statusCode: number }) => ({ status: res.statusCode }),
      },
      wrapSerializers: false,
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
    }),
  );
  app.use('/api', (_req: unknown, res: { setHeader(k: string, v: string): void }, next: () => void) => {
    res.setHeader('cache-control', 'no-store');
    next();
  });
  app.useBodyParser('json', { limit: config.limits.maxRequestBytes });
  if (config.mode === 'local' && existsSync(CLIENT_DIR)) {
    // Local mode serves the Angular app at /; in Confluence, Forge serves the same build as Custom UI.
    app.useStaticAssets(CLIENT_DIR, { index: 'index.html', maxAge: 0 });
  }
  // useProcessExit: once the hooks are done, exit 0 (Nest would otherwise re-raise the signal, and pino's last lines
  // could be lost).
  app.enableShutdownHooks([], { useProcessExit: true });
  return app;
}

/**
 * helmet's headers everywhere, HSTS in production (local mode is plain HTTP), and two Content-Security-Policies: JSON
 * under /api loads nothing and is framed by nothing; the Angular app (local mode) loads only its own scripts and
 * styles, its inline styles (Angular's component styles, the style attributes of the mail it previews), and data:
 * images (the preview's inline images). Inside Confluence, Forge serves the app with the manifest's policy instead.
 */
export function securityHeaders(config: Pick<AppConfig, 'mode'>): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void {
  const production = config.mode === 'production';
  const strictTransportSecurity = production ? { maxAge: 31_536_000, includeSubDomains: true } : false;
  const api = helmet({
    strictTransportSecurity,
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    xFrameOptions: { action: 'deny' },
  });
  const app = helmet({
    strictTransportSecurity,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        baseUri: ["'self'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'self'"],
        objectSrc: ["'none'"],
        ...(production ? { upgradeInsecureRequests: [] } : {}),
      },
    },
  });
  return (req, res, next) => (/^\/api(?:[/?]|$)/.test(req.url ?? '') ? api : app)(req, res, next);
}

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(78);
    }
    throw e;
  }
  const logger = createLogger(config.logLevel);
  const app = await createApp(config, logger);
  await app.listen(config.port, config.host);
  const url = await app.getUrl();
  logger.info({ mode: config.mode, url: url.replace('[::1]', 'localhost') }, 'Mailpage is listening');
  if (config.mode === 'local') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { ConfluenceSandbox } = require('./local/sandbox/confluence-sandbox') as typeof import('./local/sandbox/confluence-sandbox');
    const sandbox = app.get(ConfluenceSandbox);
    // Local mode only: the token a script uses to act as the local site admin (curl -H "Authorization: Bearer ...").
    process.stdout.write(
      [
        '',
        `Mailpage (local mode) on http://${config.host}:${config.port}`,
        `  Local admin token: ${config.localToken}`,
        `  Confluence sandbox: ${sandbox.origin}`,
        `  Outbox: GET /api/local/outbox with the token above`,
        '',
      ].join('\n') + '\n',
    );
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`Mailpage failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
