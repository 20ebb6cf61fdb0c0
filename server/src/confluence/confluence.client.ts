import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import type { AuthContext } from '../auth/auth-context';
import { DomainError } from '../common/domain-error';

const TIMEOUT_MS = 10_000;

/**
 * The one adapter for Confluence's REST API at `app.apiBaseUrl`. Calls go as the user (`x-forge-oauth-user`), so
 * Confluence itself decides what the user may see, or as the app (`x-forge-oauth-system`) where a user token cannot.
 * Tokens are never logged; a host failure becomes CONFLUENCE_UNAVAILABLE (502).
 */
@Injectable()
export class ConfluenceClient {
  private readonly adminCache = new LRUCache<string, boolean>({ max: 10_000, ttl: 60_000 });

  async isSiteAdmin(auth: AuthContext): Promise<boolean> {
    const key = `${auth.tenantId}:${auth.accountId}`;
    const cached = this.adminCache.get(key);
    if (cached !== undefined) return cached;
    const user = await this.getJson<{ accountId?: string; operations?: { operation?: string; targetType?: string }[] }>(
      auth,
      'user',
      '/wiki/rest/api/user/current?expand=operations',
    );
    const admin = user.accountId === auth.accountId && (user.operations ?? []).some((o) => o.operation === 'administer' && o.targetType === 'application');
    this.adminCache.set(key, admin);
    return admin;
  }

  /** Forget cached answers for a tenant (after a permission change, or when a test changes the sandbox). */
  invalidate(tenantId: string): void {
    for (const k of this.adminCache.keys()) if (k.startsWith(`${tenantId}:`)) this.adminCache.delete(k);
  }

  private async getJson<T>(auth: AuthContext, as: 'user' | 'app', path: string): Promise<T> {
    const token = as === 'user' ? auth.userToken : auth.systemToken;
    if (!token) {
      throw new DomainError('UNAUTHENTICATED', 401, as === 'user' ? 'The request carries no Confluence user token (x-forge-oauth-user); open Mailpage from Confluence.' : 'The request carries no Confluence app token (x-forge-oauth-system).');
    }
    let res: Response;
    try {
      res = await fetch(`${auth.apiBaseUrl}${path}`, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch {
      throw new DomainError('CONFLUENCE_UNAVAILABLE', 502, 'Confluence did not answer in time; try again in a moment.');
    }
    if (res.status === 401 || res.status === 403) {
      throw new DomainError('FORBIDDEN', 403, 'Confluence refused the request for this user; the app may need to be re-installed or the user lacks access.');
    }
    if (!res.ok) throw new DomainError('CONFLUENCE_UNAVAILABLE', 502, `Confluence answered with status ${res.status}; try again in a moment.`);
    return (await res.json()) as T;
  }
}
