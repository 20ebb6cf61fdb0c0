import { signal } from '@angular/core';
import type { LocalSession } from '@mailpage/contract';
import { failureFrom, ApiFailure } from './api';
import type { HeaderSource } from './transports';

const STORAGE_KEY = 'mailpage.local.accountId';

/**
 * Local mode plays Confluence: the service's sandbox hands out, for a demo user the tester picks, the same headers
 * Forge would add (an invocation token and OAuth tokens). They expire, so they are fetched again shortly before.
 */
export class LocalSessionStore implements HeaderSource {
  readonly session = signal<LocalSession | null>(null);
  private expiresAt = 0;
  private pending: Promise<LocalSession> | null = null;

  constructor(
    private readonly origin = globalThis.location?.origin ?? 'http://127.0.0.1:3000',
    private readonly fetchFn: typeof fetch = (...a) => globalThis.fetch(...a),
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** The first session: the demo user picked last time, or the service's default (the local site admin). */
  start(): Promise<LocalSession> {
    return this.open(readStored());
  }

  async switchTo(accountId: string): Promise<LocalSession> {
    const s = await this.open(accountId);
    try {
      globalThis.localStorage?.setItem(STORAGE_KEY, s.accountId);
    } catch {
      /* storage blocked: the choice lasts until reload */
    }
    return s;
  }

  async headers(): Promise<Record<string, string>> {
    const current = this.session();
    if (!current || this.now() >= this.expiresAt) return (await this.open(current?.accountId)).headers;
    return current.headers;
  }

  async renew(): Promise<void> {
    await this.open(this.session()?.accountId);
  }

  private open(accountId: string | undefined): Promise<LocalSession> {
    if (this.pending) return this.pending;
    this.pending = this.fetchSession(accountId).finally(() => (this.pending = null));
    return this.pending;
  }

  private async fetchSession(accountId: string | undefined): Promise<LocalSession> {
    let res: Response;
    try {
      res = await this.fetchFn(new URL('/api/local/session', this.origin).toString(), {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(accountId ? { accountId } : {}),
        credentials: 'omit',
      });
    } catch {
      throw new ApiFailure('SERVICE_UNAVAILABLE', 'The local Mailpage service could not be reached. Start it with "npm start" and reload this page.');
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (res.status === 404 && accountId && accountId === readStored()) {
      // The remembered demo user no longer exists: fall back to the default one.
      clearStored();
      return this.fetchSession(undefined);
    }
    if (!res.ok) throw failureFrom(res.status, body);
    const s = body as LocalSession;
    const lifetime = Math.max(1, s.expiresIn) * 1000;
    // Renew when a fifth of the lifetime is left (at least 5 s before expiry), so no call carries a token about to expire.
    this.expiresAt = this.now() + lifetime - Math.max(5000, lifetime / 5);
    this.session.set(s);
    return s;
  }
}

function readStored(): string | undefined {
  try {
    return globalThis.localStorage?.getItem(STORAGE_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

function clearStored(): void {
  try {
    globalThis.localStorage?.removeItem(STORAGE_KEY);
  } catch {
    /* nothing to clear */
  }
}
