import { createPrivateKey, sign } from 'node:crypto';
import { DomainError } from '../../common/domain-error';

/** The scope of SMTP AUTH XOAUTH2 at each provider. */
export const MICROSOFT_SMTP_SCOPE = 'https://outlook.office365.com/.default';
export const GOOGLE_MAIL_SCOPE = 'https://mail.google.com/';

/** One tenant's OAuth2 login with its secrets opened: for fetching tokens only, never for a response or a log. */
export type OAuth2Credential =
  | { provider: 'microsoft'; tenantId: string; clientId: string; clientSecret: string; user: string }
  | { provider: 'google'; credential: 'service-account'; clientEmail: string; keyId: string | null; privateKey: string; user: string }
  | { provider: 'google'; credential: 'refresh-token'; clientId: string; clientSecret: string; refreshToken: string; user: string };

export interface TokenEndpoints {
  /** Origin of the Microsoft identity platform, e.g. https://login.microsoftonline.com. */
  microsoftAuthorityHost: string;
  /** Google's OAuth2 token endpoint, e.g. https://oauth2.googleapis.com/token. */
  googleTokenUrl: string;
  timeoutMs: number;
}

export interface IssuedToken {
  accessToken: string;
  /** Lifetime the identity provider gave, in seconds. */
  expiresIn: number;
}

/**
 * Asks the tenant's identity provider for an access token: one plain OAuth2 token request (RFC 6749 §4.4 client
 * credentials for Microsoft, RFC 7523 JWT bearer or §6 refresh for Google). MSAL is not used: it refuses any authority
 * that is not https (authority_uri_insecure), so tests could not play the identity provider on 127.0.0.1, and its own
 * token cache would sit beside ours. Only the operator's configured endpoints are called, never a URL from tenant
 * input (a key file's token_uri is ignored).
 */
export async function requestAccessToken(c: OAuth2Credential, endpoints: TokenEndpoints): Promise<IssuedToken> {
  if (c.provider === 'microsoft') {
    const url = `${endpoints.microsoftAuthorityHost}/${encodeURIComponent(c.tenantId)}/oauth2/v2.0/token`;
    return post('Microsoft 365', url, { grant_type: 'client_credentials', client_id: c.clientId, client_secret: c.clientSecret, scope: MICROSOFT_SMTP_SCOPE }, endpoints.timeoutMs);
  }
  if (c.credential === 'refresh-token') {
    return post('Google', endpoints.googleTokenUrl, { grant_type: 'refresh_token', client_id: c.clientId, client_secret: c.clientSecret, refresh_token: c.refreshToken }, endpoints.timeoutMs);
  }
  const assertion = serviceAccountAssertion(c, endpoints.googleTokenUrl, Math.floor(Date.now() / 1000));
  return post('Google', endpoints.googleTokenUrl, { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }, endpoints.timeoutMs);
}

/** The signed JWT a service account with domain-wide delegation presents to act as `user` (RS256, one hour). */
export function serviceAccountAssertion(c: Extract<OAuth2Credential, { credential: 'service-account' }>, audience: string, now: number): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const header = { alg: 'RS256', typ: 'JWT', ...(c.keyId ? { kid: c.keyId } : {}) };
  const claims = { iss: c.clientEmail, sub: c.user, scope: GOOGLE_MAIL_SCOPE, aud: audience, iat: now, exp: now + 3600 };
  const input = `${b64(header)}.${b64(claims)}`;
  const signature = sign('sha256', Buffer.from(input), createPrivateKey(c.privateKey)).toString('base64url');
  return `${input}.${signature}`;
}

async function post(provider: string, url: string, form: Record<string, string>, timeoutMs: number): Promise<IssuedToken> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(form).toString(),
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch {
    throw new DomainError('SMTP_AUTH_FAILED', 502, `Could not reach ${provider}'s sign-in service to get an access token for the mail server. Try again later.`);
  }
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse((await res.text()).slice(0, 65_536));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
  } catch {
    /* not JSON: handled below */
  }
  if (res.ok && typeof body.access_token === 'string' && body.access_token && (body.token_type === undefined || String(body.token_type).toLowerCase() === 'bearer')) {
    const expiresIn = Number(body.expires_in);
    return { accessToken: body.access_token, expiresIn: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 300 };
  }
  throw tokenRefused(provider, res.status, body);
}

/** The identity provider's refusal as a sentence; only its error code (and Entra's AADSTS number) is quoted. */
function tokenRefused(provider: string, status: number, body: Record<string, unknown>): DomainError {
  const error = typeof body.error === 'string' && /^[a-z_]{1,64}$/.test(body.error) ? body.error : null;
  const aadsts = typeof body.error_description === 'string' ? /AADSTS\d{5,8}/.exec(body.error_description)?.[0] : undefined;
  const why = [error ?? `HTTP ${status}`, aadsts].filter(Boolean).join(', ');
  const details = { provider: provider === 'Google' ? 'google' : 'microsoft', ...(error ? { oauthError: error } : {}), ...(aadsts ? { aadsts } : {}) };
  let hint: string;
  if (error === 'invalid_client') {
    hint = provider === 'Google' ? 'Check the client ID and client secret.' : 'Check the application (client) ID and the client secret, and that the secret has not expired.';
  } else if (error === 'unauthorized_client') {
    hint =
      provider === 'Google'
        ? 'For a service account, a Google Workspace admin must allow its client ID the scope https://mail.google.com/ under domain-wide delegation.'
        : 'Check the directory (tenant) ID and that the app is registered in that directory.';
  } else if (error === 'invalid_grant') {
    hint = provider === 'Google' ? 'The refresh token has expired or was revoked, or the user does not exist: create a new one.' : 'Check the directory (tenant) ID, client ID and secret.';
  } else if (error === 'invalid_scope') {
    hint = provider === 'Google' ? 'The credential does not grant https://mail.google.com/.' : 'The app needs the SMTP.SendAsApp application permission with admin consent.';
  } else if (error === 'invalid_request' && aadsts === 'AADSTS90002') {
    hint = 'The directory (tenant) ID was not found.';
  } else if (status >= 500 || status === 429) {
    hint = 'Try again later.';
  } else {
    hint = 'Check the OAuth2 settings.';
  }
  return new DomainError('SMTP_AUTH_FAILED', 502, `${provider} did not issue an access token for the mail server (${why}). ${hint}`, details);
}
