import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Inject, Injectable, Optional, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { DomainError } from '../common/domain-error';
import { AppConfig } from '../config/app-config';
import { LOGGER } from '../config/config.module';
import { ProtectOffload, type ProtectedMail, type ProtectOptions } from '../crypto/mail-crypto.service';
import { PageRenderer, type BuiltMessage, type MessageHeaders, type PageInput, type RenderedMail, type RenderedPage } from './compose.service';
import { reviveError, reviveResult, type RenderAnswer, type RenderTask, type TaskKind, type TaskResults } from './render-wire';

/** A task before it has an id. */
type Job = RenderTask extends infer T ? (T extends RenderTask ? Omit<T, 'id'> : never) : never;

interface Pending {
  kind: TaskKind;
  resolve: (value: TaskResults[TaskKind]) => void;
  reject: (e: unknown) => void;
}

interface Slot {
  worker: Worker;
  task: (Pending & { id: number; timer: NodeJS.Timeout }) | null;
}

interface Queued extends Pending {
  job: Job;
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

/** Why a task that ran out of time was refused, by kind: what the sender can do about it. */
const TIMED_OUT: Record<TaskKind, (seconds: number) => DomainError> = {
  page: (s) => new DomainError('VALIDATION_FAILED', 422, `The page took longer than ${s} s to prepare for mail, so nothing was sent; try sending a smaller page.`, { field: 'html' }),
  build: (s) => new DomainError('SERVICE_UNAVAILABLE', 503, `The mail took longer than ${s} s to put together, so nothing was sent; try again, or leave out some attachments.`),
  protect: (s) => new DomainError('SERVICE_UNAVAILABLE', 503, `Encrypting and signing the mail took longer than ${s} s, so nothing was sent; try again, or leave out some attachments.`),
};

/**
 * Renders pages, and builds, signs and encrypts messages, on worker threads, so a node composes on as many cores as
 * it has (COMPOSE_WORKERS) and the event loop stays free for requests and SMTP. Workers start as sends need them; one
 * task at a time each, the rest wait in order. What a task needs is copied to its worker: a page and its images; a
 * rendered mail with its attachments (ComposeService sends only mails with small files, so a big attachment never
 * leaves the event loop); a message with the keys to protect it. The messages made there come back without a copy.
 * A worker that dies fails its task with a 500 and is replaced by the next one that is needed. Without the compiled
 * worker script (the tests run the TypeScript sources) everything runs on the event loop.
 */
@Injectable()
export class RenderPool extends PageRenderer implements ProtectOffload, OnApplicationShutdown {
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
    return this.run('page', { kind: 'page', input });
  }

  buildMessage(mail: RenderedMail, headers: MessageHeaders): Promise<BuiltMessage> {
    return this.run('build', { kind: 'build', mail, headers });
  }

  protect(raw: Buffer, options: ProtectOptions, now: Date): Promise<ProtectedMail[]> {
    return this.run('protect', { kind: 'protect', raw, options, now });
  }

  private run<K extends TaskKind>(kind: K, job: Job & { kind: K }): Promise<TaskResults[K]> {
    if (this.closed) return Promise.reject(new Error('the render pool is shut down'));
    return new Promise<TaskResults[K]>((resolve, reject) => {
      this.queue.push({ kind, job, resolve: resolve as Pending['resolve'], reject });
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
      slot.task = { id, kind: next.kind, resolve: next.resolve, reject: next.reject, timer };
      try {
        slot.worker.postMessage({ id, ...next.job } as RenderTask);
      } catch (e) {
        // Something in the input cannot be copied to a thread: a programming error, not the sender's.
        clearTimeout(timer);
        slot.task = null;
        next.reject(e);
      }
    }
  }

  /** Refuses the task and stops its worker; 'exit' then takes the worker out of the pool. */
  private timedOut(slot: Slot, id: number): void {
    const task = slot.task;
    if (!task || task.id !== id) return;
    slot.task = null;
    this.logger.warn({ ms: this.timeoutMs, task: task.kind }, 'a worker task took too long; its worker is replaced');
    task.reject(TIMED_OUT[task.kind](Math.ceil(this.timeoutMs / 1000)));
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
      if ('value' in answer) task.resolve(reviveResult(task.kind, answer.value));
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
