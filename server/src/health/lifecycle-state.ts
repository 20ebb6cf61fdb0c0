import { Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { AppConfig } from '../config/app-config';

// Beyond the sync timeout a request only waits for an upload or a slow client; this much more is enough for both.
const DRAIN_MARGIN_MS = 5_000;

/**
 * Whether this node is draining. From the first moment of shutdown /readyz answers 503, so the load balancer stops
 * routing here, while the server keeps listening until the requests under way are answered (at most the send sync
 * timeout and a margin). Only then does Nest close the HTTP server and run the shutdown hooks that wait for
 * background sends and close the SMTP pools and the database: nothing a request still needs is closed under it.
 */
@Injectable()
export class Lifecycle implements BeforeApplicationShutdown {
  draining = false;
  private active = 0;
  private idle: (() => void) | null = null;

  constructor(private readonly config: AppConfig) {}

  /** Express middleware: counts the requests being answered; while draining, tells clients to reconnect elsewhere. */
  readonly countRequests = (_req: Request, res: Response, next: NextFunction): void => {
    this.active++;
    if (this.draining) res.setHeader('connection', 'close');
    res.once('close', () => {
      this.active--;
      if (this.active === 0) this.idle?.();
    });
    next();
  };

  async beforeApplicationShutdown(): Promise<void> {
    this.draining = true;
    if (this.active === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.config.sendSyncTimeoutMs + DRAIN_MARGIN_MS);
      this.idle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.idle = null;
  }
}
