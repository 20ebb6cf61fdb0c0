import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { DomainError } from '../../common/domain-error';
import { AppConfig } from '../../config/app-config';
import { SecretBox } from '../../secrets/secret-box';
import { requestAccessToken, type OAuth2Credential, type TokenEndpoints } from './oauth2-providers';
import type { AccessToken, AccessTokenSource, SmtpTarget } from './smtp.types';

/** How long before its expiry a cached token is no longer handed out: a quarter of its life, at most five minutes. */
export function renewAt(fetchedAt: number, expiresInSeconds: number): number {
  const life = Math.min(expiresInSeconds, 24 * 3600) * 1000;
  return fetchedAt + life - Math.min(5 * 60_000, life / 4);
}

interface TokenState {
  token: AccessToken | null;
  pending: Promise<AccessToken> | null;
  fetches: number;
}

/**
 * Access tokens for tenants' OAuth2 SMTP logins, cached per credential in memory until shortly before they expire,
 * one request at a time per credential. Tokens are never stored or logged; each server node fetches its own.
 */
@Injectable()
export class OAuth2Tokens {
  private readonly states = new LRUCache<string, TokenState>({ max: 10_000 });
  private readonly endpoints: TokenEndpoints;

  constructor(
    config: AppConfig,
    private readonly box: SecretBox,
  ) {
    this.endpoints = { ...config.oauth2, timeoutMs: config.smtp.connectionTimeoutMs };
  }

  /** The token source for one credential. The same credential (same tenant, settings and secrets) shares one cache entry. */
  source(tenantId: string, credential: OAuth2Credential): AccessTokenSource {
    // A keyed hash of everything that identifies the credential, secrets included: a changed secret is a new cache
    // entry (and a new SMTP pool), and someone reading a heap dump of the keys learns nothing.
    const id = this.box.mac('oauth2-token-source', tenantId, JSON.stringify(credential));
    const state = () => {
      let s = this.states.get(id);
      if (!s) this.states.set(id, (s = { token: null, pending: null, fetches: 0 }));
      return s;
    };
    return {
      id,
      getToken: (fresh: boolean) => this.get(state(), credential, fresh),
      get fetches() {
        return state().fetches;
      },
    };
  }

  private get(s: TokenState, credential: OAuth2Credential, fresh: boolean): Promise<AccessToken> {
    if (!fresh && s.token && Date.now() < s.token.renewAt) return Promise.resolve(s.token);
    if (s.pending) return s.pending;
    s.token = null;
    s.pending = (async () => {
      try {
        const fetchedAt = Date.now();
        const issued = await requestAccessToken(credential, this.endpoints);
        s.fetches++;
        s.token = { accessToken: issued.accessToken, renewAt: renewAt(fetchedAt, issued.expiresIn) };
        return s.token;
      } finally {
        s.pending = null;
      }
    })();
    return s.pending;
  }
}

/**
 * Runs one SMTP operation with a target's OAuth2 login, if it has one. The token is fetched first, so a refusal by the
 * identity provider reaches the admin as that (with its error code) rather than as a failed SMTP login. When the mail
 * server then refuses a cached token without the 334 challenge that lets nodemailer renew it itself (Microsoft answers
 * 535 at once), a fresh token is fetched and the operation tried once more: nothing was sent before AUTH.
 */
export async function withOAuth2Token<T>(target: SmtpTarget, operation: () => Promise<T>): Promise<T> {
  const auth = target.auth;
  if (auth?.type !== 'oauth2') return operation();
  await auth.tokens.getToken(false);
  const fetchesBefore = auth.tokens.fetches;
  try {
    return await operation();
  } catch (e) {
    const refused = e instanceof DomainError && e.code === 'SMTP_AUTH_FAILED';
    // A token fetched during the operation was already the fresh one (nodemailer renewed after 334): do not ask a third time.
    if (!refused || auth.tokens.fetches !== fetchesBefore) throw tokenRefused(e, auth.user);
    await auth.tokens.getToken(true);
    try {
      return await operation();
    } catch (again) {
      throw tokenRefused(again, auth.user);
    }
  }
}

/** A mail server's refusal of an access token, said as such (the password wording of mapSmtpError does not fit). */
function tokenRefused(e: unknown, user: string): unknown {
  if (!(e instanceof DomainError) || e.code !== 'SMTP_AUTH_FAILED' || typeof e.details?.smtpCode !== 'number' || e.details.smtpCode < 500) return e;
  return new DomainError(
    'SMTP_AUTH_FAILED',
    502,
    `The mail server refused the OAuth2 access token for ${user} (reply ${e.details.smtpCode}). ` +
      'Check that this mailbox may send with SMTP AUTH and that the app (or service account) is allowed to send as it.',
    e.details,
  );
}
