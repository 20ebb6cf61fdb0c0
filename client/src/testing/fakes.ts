import { type Provider } from '@angular/core';
import { vi } from 'vitest';
import { ApiClient, ApiFailure, TRANSPORT, type Transport } from '../app/core/api';
import { HOST, type Host } from '../app/core/host';

type Handler = (path: string, body?: unknown, headers?: Record<string, string>) => unknown;

/**
 * A stand-in for the service: each route answers what the test says, or fails with the ApiError it gives.
 * Every call is recorded with its method, path, body and headers.
 */
export class FakeApi {
  readonly calls: { method: string; path: string; body?: unknown; headers?: Record<string, string> }[] = [];
  private readonly routes = new Map<string, Handler>();
  mode: 'forge' | 'local' = 'local';
  canUpload = false;

  on(method: string, path: string | RegExp, answer: unknown | Handler): this {
    const key = `${method} ${path instanceof RegExp ? `re:${path.source}` : path}`;
    this.routes.set(key, typeof answer === 'function' ? (answer as Handler) : () => answer);
    return this;
  }

  fail(method: string, path: string | RegExp, code: string, message: string, details?: Record<string, unknown>, status = 400): this {
    return this.on(method, path, () => {
      throw new ApiFailure(code as never, message, details, status);
    });
  }

  readonly get = vi.fn((path: string, query?: Record<string, unknown>) => this.call('GET', withQuery(path, query)));
  readonly post = vi.fn((path: string, body?: unknown, headers?: Record<string, string>) => this.call('POST', path, body ?? {}, headers));
  readonly put = vi.fn((path: string, body: unknown, headers?: Record<string, string>) => this.call('PUT', path, body, headers));
  readonly delete = vi.fn((path: string, query?: Record<string, unknown>) => this.call('DELETE', withQuery(path, query)));
  readonly bytes = vi.fn((path: string) => this.call('GET', path) as Promise<ArrayBuffer>);
  readonly upload = vi.fn((path: string, form: FormData, opts?: { headers?: Record<string, string> }) => this.call('POST', path, form, opts?.headers));

  callsTo(method: string, path: string) {
    return this.calls.filter((c) => c.method === method && c.path.split('?')[0] === path);
  }

  private async call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<unknown> {
    this.calls.push({ method, path, body, headers });
    const bare = path.split('?')[0];
    let handler = this.routes.get(`${method} ${path}`) ?? this.routes.get(`${method} ${bare}`);
    if (!handler) {
      for (const [key, h] of this.routes) {
        if (key.startsWith(`${method} re:`) && new RegExp(key.slice(method.length + 4)).test(path)) handler = h;
      }
    }
    if (!handler) throw new ApiFailure('NOT_FOUND', `No fake answer for ${method} ${path}`, undefined, 404);
    return handler(path, body, headers);
  }
}

function withQuery(path: string, query?: Record<string, unknown>): string {
  if (!query) return path;
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `${path}?${s}` : path;
}

export function localHost(over: Partial<Host> = {}): Host {
  const transport: Transport = { kind: 'local', request: () => Promise.reject(new Error('use FakeApi')) };
  return { mode: 'local', transport, confluence: null, local: null, close: null, startPath: '/send', startError: null, ...over };
}

export function fakeProviders(api: FakeApi, host: Host = localHost()): Provider[] {
  return [
    { provide: ApiClient, useValue: api },
    { provide: HOST, useValue: host },
    { provide: TRANSPORT, useValue: host.transport },
  ];
}

/** Lets pending promise callbacks run (the fake API answers asynchronously, like the real one). */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

export function type(input: HTMLInputElement | HTMLTextAreaElement, value: string): void {
  input.value = value;
  input.dispatchEvent(new Event('input', { bubbles: true }));
}

export function key(el: HTMLElement, key: string): KeyboardEvent {
  const e = new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true });
  el.dispatchEvent(e);
  return e;
}

export function texts(root: HTMLElement, selector: string): string[] {
  return [...root.querySelectorAll(selector)].map((e) => (e.textContent ?? '').replace(/\s+/g, ' ').trim());
}
