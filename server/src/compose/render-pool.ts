import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Inject, Injectable, Optional, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { DomainError } from '../common/domain-error';
import { AppConfig } from '../config/app-config';
import { LOGGER } from '../config/config.module';
import { PageRenderer, type PageInput, type RenderedPage } from './compose.service';
import { reviveError, revivePage, type RenderAnswer, type RenderTask } from './render-wire';

interface Slot {
  worker: Worker;
  task: { id: number; resolve: (page: RenderedPage) => void; reject: (e: unknown) => void; timer: NodeJS.Timeout } | null;
}

interface Queued {
  input: PageInput;
  resolve: (page: RenderedPage) => void;
  reject: (e: unknown) => void;
}

const WORKER_SCRIPT = join(__dirname, 'render.worker.js');

/** Another worker script or time limit (the pool's own tests). */
export const RENDER_POOL_OPTIONS = Symbol('RENDER_POOL_OPTIONS');
export interface RenderPoolOptions {
  script?: string;
  timeoutMs?: number;
}

/**
 * A page that takes longer than this to render (a pathological page, or a bug) is refused and its worker replaced,
 * within the platform's 25 s for the whole request. On the event loop nothing could stop it.
 */
export const RENDER_TIMEOUT_MS = 20_000;

/**
 * Renders pages on worker threads, so a node composes on as many cores as it has (COMPOSE_WORKERS) and the event loop
 * stays free for requests and SMTP. Workers start as sends need them; one page at a time each, the rest wait in
 * order. Only the page and its images cross to a worker (copied); attachments stay on this thread. A worker that
 * dies fails its page with a 500 and is replaced by the next one that is needed. Without the compiled worker script
 * (the tests run the TypeScript sources) pages are rendered on the event loop.
 */
@Injectable()
export class RenderPool extends PageRenderer implements OnApplicationShutdown {
  readonly enabled: boolean;
  private readonly size: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Queued[] = [];
  private nextId = 1;
  private closed = false;

  private readonly script: string;
  private readonly timeoutMs: number;

  constructor(
    config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(RENDER_POOL_OPTIONS) options?: RenderPoolOptions,
  ) {
    super();
    this.size = config.composeWorkers;
    this.script = options?.script ?? WORKER_SCRIPT;
    this.timeoutMs = options?.timeoutMs ?? RENDER_TIMEOUT_MS;
    this.enabled = this.size > 0 && existsSync(this.script);
  }

  get workers(): number {
    return this.slots.length;
  }

  renderPage(input: PageInput): Promise<RenderedPage> {
    if (this.closed) return Promise.reject(new Error('the render pool is shut down'));
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      this.dispatch();
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    for (const q of this.queue.splice(0)) q.reject(new Error('the render pool is shut down'));
    await Promise.all(this.slots.splice(0).map((slot) => slot.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length) {
      let slot = this.slots.find((s) => s.task === null);
      if (!slot && this.slots.length < this.size) slot = this.spawn();
      if (!slot) return;
      const next = this.queue.shift()!;
      const id = this.nextId++;
      const busy = slot;
      const timer = setTimeout(() => this.timedOut(busy, id), this.timeoutMs);
      slot.task = { id, resolve: next.resolve, reject: next.reject, timer };
      try {
        slot.worker.postMessage({ id, input: next.input } satisfies RenderTask);
      } catch (e) {
        // Something in the input cannot be copied to a thread: a programming error, not the sender's.
        clearTimeout(timer);
        slot.task = null;
        next.reject(e);
      }
    }
  }

  /** Refuses the page and stops its worker; 'exit' then takes the worker out of the pool. */
  private timedOut(slot: Slot, id: number): void {
    const task = slot.task;
    if (!task || task.id !== id) return;
    slot.task = null;
    this.logger.warn({ ms: this.timeoutMs }, 'a page took too long to render; its worker is replaced');
    task.reject(
      new DomainError('VALIDATION_FAILED', 422, `The page took longer than ${Math.ceil(this.timeoutMs / 1000)} s to prepare for mail, so nothing was sent; try sending a smaller page.`, { field: 'html' }),
    );
    void slot.worker.terminate();
  }

  private spawn(): Slot {
    const worker = new Worker(this.script);
    const slot: Slot = { worker, task: null };
    worker.unref();
    worker.on('message', (answer: RenderAnswer) => {
      const task = slot.task;
      if (!task || task.id !== answer.id) return;
      clearTimeout(task.timer);
      slot.task = null;
      if ('page' in answer) task.resolve(revivePage(answer.page));
      else task.reject(reviveError(answer.error));
      this.dispatch();
    });
    const lost = (why: string) => {
      const i = this.slots.indexOf(slot);
      if (i === -1) return;
      this.slots.splice(i, 1);
      if (!this.closed) this.logger.error({ why }, 'a render worker stopped; it is replaced when needed');
      if (slot.task) clearTimeout(slot.task.timer);
      slot.task?.reject(new Error(`a render worker stopped (${why})`));
      slot.task = null;
      if (!this.closed) this.dispatch();
    };
    // Only the error's type: a message could quote the page.
    worker.on('error', (e) => lost(e instanceof Error ? e.name : 'error'));
    worker.on('exit', (code) => lost(`exit code ${code}`));
    this.slots.push(slot);
    return slot;
  }
}
