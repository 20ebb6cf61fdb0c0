import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DomainError } from '../common/domain-error';
import type { AppConfig } from '../config/app-config';
import type { PageInput } from './compose.service';
import { RenderPool } from './render-pool';
import { reviveError, reviveInput, toWireError, transferList } from './render-wire';

/**
 * A stand-in worker speaking the pool's protocol (the real one needs the compiled server; test/e2e/compose-workers
 * runs it): answers a page with its title, fails as a DomainError for "refuse", dies for "die", and waits for "slow";
 * answers a build or protect task with the bytes it was given, and hangs on a message that says "hang".
 */
const dir = mkdtempSync(join(tmpdir(), 'render-pool-'));
const script = join(dir, 'worker.js');
writeFileSync(
  script,
  `const { parentPort, threadId } = require('node:worker_threads');
parentPort.on('message', ({ id, kind, input, mail, raw, now }) => {
  if (kind === 'build') return parentPort.postMessage({ id, value: { raw: mail.attachments[0].content, messageId: '<m@x>' } });
  if (kind === 'protect') {
    if (Buffer.from(raw).toString() === 'hang') for (;;);
    return parentPort.postMessage({ id, value: [{ copy: 'main', envelope: { from: now.toISOString(), to: [] }, raw }] });
  }
  if (input.title === 'die') process.exit(3);
  if (input.title === 'hang') for (;;);
  if (input.title === 'refuse') return parentPort.postMessage({ id, error: { domain: true, code: 'MAIL_TOO_LARGE', status: 413, message: 'too large', details: { size: 2 } } });
  const answer = () => parentPort.postMessage({ id, value: { subject: input.title, html: String(threadId), text: '', htmlBytes: 0, clipped: false, inline: [{ cid: 'c', filename: 'a.png', contentType: 'image/png', content: input.images[0]?.content ?? new Uint8Array(0) }] } });
  if (input.title === 'slow') setTimeout(answer, 200); else answer();
});`,
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const page = (title: string, image = Buffer.from('png')): PageInput => ({
  title,
  html: '<p>x</p>',
  subjectPrefix: '',
  images: [{ filename: 'a.png', contentType: 'image/png', content: image }],
  maxBytes: 1000,
  reservedBytes: 0,
});
const pools: RenderPool[] = [];
const pool = (workers: number, path = script, timeoutMs?: number) => {
  const p = new RenderPool({ composeWorkers: workers } as AppConfig, pino({ level: 'silent' }), { script: path, timeoutMs });
  pools.push(p);
  return p;
};
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.onApplicationShutdown()));
});

describe('the render pool', () => {
  it('is off without workers or without the worker script, so the page is rendered on the event loop', () => {
    expect(pool(0).enabled).toBe(false);
    expect(pool(2, join(dir, 'missing.js')).enabled).toBe(false);
    expect(pool(2).enabled).toBe(true);
  });

  it('starts workers only as pages need them, never more than its size, and hands back Buffers', async () => {
    const p = pool(2);
    expect(p.workers).toBe(0);
    const pages = await Promise.all(['slow', 'slow', 'slow', 'slow', 'slow'].map((t) => p.renderPage(page(t, Buffer.from('image bytes')))));
    expect(p.workers).toBe(2);
    expect(new Set(pages.map((r) => r.html)).size).toBe(2);
    expect(Buffer.isBuffer(pages[0].inline[0].content)).toBe(true);
    expect(pages[0].inline[0].content.toString()).toBe('image bytes');
  });

  it('passes a refusal on as the same DomainError', async () => {
    const e = await pool(1).renderPage(page('refuse')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DomainError);
    expect(e).toMatchObject({ code: 'MAIL_TOO_LARGE', status: 413, message: 'too large', details: { size: 2 } });
  });

  it('fails only the page of a worker that dies, and replaces the worker for the next page', async () => {
    const p = pool(1);
    const [died, queued] = await Promise.allSettled([p.renderPage(page('die')), p.renderPage(page('next'))]);
    expect(died.status).toBe('rejected');
    expect(String((died as PromiseRejectedResult).reason)).toMatch(/a render worker stopped \(exit code 3\)/);
    expect(queued.status === 'fulfilled' && queued.value.subject).toBe('next');
    expect(p.workers).toBe(1);
  });

  it('refuses a page that takes too long with a 422 naming the page, and replaces its worker', async () => {
    const p = pool(1, script, 300);
    const started = Date.now();
    const [hung, next] = await Promise.allSettled([p.renderPage(page('hang')), p.renderPage(page('after'))]);
    expect(hung.status).toBe('rejected');
    expect((hung as PromiseRejectedResult).reason).toMatchObject({ code: 'VALIDATION_FAILED', status: 422, details: { field: 'html' } });
    expect(String((hung as PromiseRejectedResult).reason.message)).toMatch(/took longer than 1 s to prepare for mail, so nothing was sent/);
    expect(next.status === 'fulfilled' && next.value.subject).toBe('after');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('hands a message to build or protect to a worker and gets Buffers back, with the sending thread\'s time', async () => {
    const p = pool(1);
    const rendered = { subject: 's', html: '', text: '', htmlBytes: 0, clipped: false, inline: [], attachments: [{ filename: 'a.txt', contentType: 'text/plain', content: Buffer.from('attached') }] };
    const built = await p.buildMessage(rendered, { from: { name: '', address: 'a@example.com' }, to: [], cc: [], messageIdDomain: 'example.com', maxBytes: 100 });
    expect(Buffer.isBuffer(built.raw)).toBe(true);
    expect(built.raw.toString()).toBe('attached');
    const now = new Date('2030-01-02T03:04:05Z');
    const [copy] = await p.protect(Buffer.from('message'), { method: 'pgp', encrypt: true, sign: false, envelopeFrom: 'a@example.com', to: ['b@example.com'], cc: [], bcc: [] }, now);
    expect(Buffer.isBuffer(copy.raw)).toBe(true);
    expect(copy.raw.toString()).toBe('message');
    expect(copy.envelope.from).toBe(now.toISOString());
  });

  it('refuses a message that takes too long to encrypt with a 503 that says so, and replaces its worker', async () => {
    const p = pool(1, script, 300);
    const options = { method: 'pgp' as const, encrypt: true, sign: false, envelopeFrom: 'a@example.com', to: ['b@example.com'], cc: [], bcc: [] };
    const [hung, next] = await Promise.allSettled([p.protect(Buffer.from('hang'), options, new Date()), p.renderPage(page('after'))]);
    expect((hung as PromiseRejectedResult).reason).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });
    expect(String((hung as PromiseRejectedResult).reason.message)).toMatch(/Encrypting and signing the mail took longer than 1 s, so nothing was sent/);
    expect(next.status === 'fulfilled' && next.value.subject).toBe('after');
  });

  it('refuses pages once shut down', async () => {
    const p = pool(1);
    await p.renderPage(page('one'));
    await p.onApplicationShutdown();
    expect(p.workers).toBe(0);
    await expect(p.renderPage(page('two'))).rejects.toThrow(/shut down/);
  });
});

describe('what crosses between threads', () => {
  it('keeps a refusal a DomainError with its code, status and details, and any other error a plain one', () => {
    const refusal = reviveError(toWireError(new DomainError('VALIDATION_FAILED', 400, 'bad name', { field: 'images[0]' })));
    expect(refusal).toBeInstanceOf(DomainError);
    expect(refusal).toMatchObject({ code: 'VALIDATION_FAILED', status: 400, details: { field: 'images[0]' } });
    const other = reviveError(toWireError(new TypeError('boom')));
    expect(other).not.toBeInstanceOf(DomainError);
    expect(other.message).toBe('boom');
  });

  it('hands over the memory of the messages a worker made, never that of small Buffers in the shared pool', () => {
    const big = Buffer.alloc(64 * 1024);
    const small = Buffer.from('a small message');
    expect(transferList('build', { raw: big, messageId: '' })).toEqual([big.buffer]);
    expect(transferList('build', { raw: small, messageId: '' })).toEqual([]);
    const copies = [big.subarray(0, 10), big.subarray(10)].map((raw) => ({ copy: 'bcc' as const, envelope: { from: '', to: [] }, raw }));
    expect(transferList('protect', copies)).toEqual([big.buffer]);
  });

  it('turns the copied bytes of images and the logo back into Buffers', () => {
    const input = reviveInput({
      ...page('t'),
      images: [{ filename: 'a.png', contentType: 'image/png', content: new Uint8Array([1, 2, 3]) as Buffer }],
      layout: { headerText: '', footerTemplate: '', css: '', includePageLink: false, logo: { filename: 'l.png', contentType: 'image/png', content: new Uint8Array([4]) as Buffer } },
    });
    expect(Buffer.isBuffer(input.images[0].content)).toBe(true);
    expect(Buffer.isBuffer(input.layout!.logo!.content)).toBe(true);
    expect([...input.images[0].content, ...input.layout!.logo!.content]).toEqual([1, 2, 3, 4]);
  });
});
