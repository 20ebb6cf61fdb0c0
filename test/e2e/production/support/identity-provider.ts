import { createPublicKey, generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** A Microsoft Entra app registration the fake identity provider knows. */
export interface MicrosoftApp {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** Mailboxes the app may send as (what Exchange checks at AUTH). */
  mailboxes: string[];
}

/** A Google service account with domain-wide delegation, and its key file as Google would hand it out. */
export interface GoogleServiceAccount {
  clientEmail: string;
  keyId: string;
  publicKey: KeyObject;
  /** The JSON key file (with the private key), as an admin uploads it. */
  keyFile: string;
  /** Users it may impersonate. */
  users: string[];
}

/** A Google OAuth client with one user's refresh token. */
export interface GoogleRefreshGrant {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  user: string;
}

export interface IssuedToken {
  provider: 'microsoft' | 'google';
  grant: 'client_credentials' | 'jwt-bearer' | 'refresh_token';
  token: string;
  /** Who the token lets log in (Microsoft: any of the app's mailboxes). */
  users: string[];
  expiresAt: number;
}

/**
 * Plays Microsoft's and Google's token endpoints on 127.0.0.1 over plain HTTP: checks client secrets, service account
 * assertions (RS256 signature, audience, scope, expiry) and refresh tokens as the real ones would, and issues random
 * access tokens with `expires_in`. The XOAUTH2 test server asks it whether a token is valid for a user.
 */
export class FakeIdentityProvider {
  readonly microsoftApps: MicrosoftApp[] = [];
  readonly serviceAccounts: GoogleServiceAccount[] = [];
  readonly refreshGrants: GoogleRefreshGrant[] = [];
  readonly issued: IssuedToken[] = [];
  /** Lifetime of the next tokens, in seconds. */
  expiresIn = 3600;
  /** Every request body the endpoints received (form fields), to prove what was (and was not) sent. */
  readonly requests: Record<string, string>[] = [];
  private readonly revoked = new Set<string>();
  private server: Server | null = null;
  origin = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** MICROSOFT_AUTHORITY_HOST */
  get microsoftAuthorityHost(): string {
    return this.origin;
  }

  /** GOOGLE_TOKEN_URL */
  get googleTokenUrl(): string {
    return `${this.origin}/google/token`;
  }

  addMicrosoftApp(mailboxes: string[]): MicrosoftApp {
    const app = { tenantId: crypto.randomUUID(), clientId: crypto.randomUUID(), clientSecret: `ms-secret-${randomBytes(12).toString('hex')}`, mailboxes };
    this.microsoftApps.push(app);
    return app;
  }

  addServiceAccount(users: string[]): GoogleServiceAccount {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const clientEmail = `mailer-${randomBytes(3).toString('hex')}@project-x.iam.gserviceaccount.com`;
    const keyId = randomBytes(20).toString('hex');
    const keyFile = JSON.stringify({
      type: 'service_account',
      project_id: 'project-x',
      private_key_id: keyId,
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
      client_email: clientEmail,
      client_id: '1234567890',
      // Never called: the service uses GOOGLE_TOKEN_URL, not a URL from tenant input.
      token_uri: 'http://127.0.0.1:9/never',
    });
    const sa = { clientEmail, keyId, publicKey: createPublicKey(privateKey), keyFile, users };
    this.serviceAccounts.push(sa);
    return sa;
  }

  addRefreshGrant(user: string): GoogleRefreshGrant {
    const g = {
      clientId: `${randomBytes(4).toString('hex')}-test.apps.googleusercontent.com`,
      clientSecret: `g-secret-${randomBytes(12).toString('hex')}`,
      refreshToken: `1//refresh-${randomBytes(16).toString('hex')}`,
      user,
    };
    this.refreshGrants.push(g);
    return g;
  }

  /** What the mail server checks at AUTH XOAUTH2. */
  isValid(token: string, user: string): boolean {
    const t = this.issued.find((i) => i.token === token);
    return !!t && !this.revoked.has(token) && Date.now() < t.expiresAt && t.users.includes(user.toLowerCase());
  }

  /** The mail server stops accepting this token (as after a password reset or a revoked grant), though it has not expired. */
  revoke(token: string): void {
    this.revoked.add(token);
  }

  /** Every secret and token this provider knows: none may appear in a response, a log line or the database. */
  secrets(): string[] {
    return [
      ...this.microsoftApps.map((a) => a.clientSecret),
      ...this.serviceAccounts.flatMap((s) => [JSON.parse(s.keyFile).private_key.split('\n')[1] as string]),
      ...this.refreshGrants.flatMap((g) => [g.clientSecret, g.refreshToken]),
      ...this.issued.map((i) => i.token),
    ];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
    this.requests.push(form);
    const path = new URL(req.url ?? '/', this.origin).pathname;
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST') return reply(405, { error: 'invalid_request' });
    const ms = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(path);
    if (ms) return this.microsoft(decodeURIComponent(ms[1]), form, reply);
    if (path === '/google/token') return this.google(form, reply);
    reply(404, { error: 'not_found' });
  }

  private microsoft(tenantId: string, form: Record<string, string>, reply: (s: number, b: unknown) => void): void {
    if (!this.microsoftApps.some((a) => a.tenantId === tenantId)) {
      return reply(400, { error: 'invalid_request', error_description: `AADSTS90002: Tenant '${tenantId}' not found. Trace ID: x` });
    }
    if (form.grant_type !== 'client_credentials') return reply(400, { error: 'unsupported_grant_type' });
    if (form.scope !== 'https://outlook.office365.com/.default') return reply(400, { error: 'invalid_scope', error_description: 'AADSTS70011: The provided value for scope is not valid.' });
    const app = this.microsoftApps.find((a) => a.tenantId === tenantId && a.clientId === form.client_id);
    if (!app) return reply(400, { error: 'unauthorized_client', error_description: `AADSTS700016: Application with identifier '${form.client_id}' was not found in the directory.` });
    if (form.client_secret !== app.clientSecret) {
      return reply(401, { error: 'invalid_client', error_description: `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value. ${form.client_secret}` });
    }
    reply(200, this.issue('microsoft', 'client_credentials', app.mailboxes));
  }

  private google(form: Record<string, string>, reply: (s: number, b: unknown) => void): void {
    if (form.grant_type === 'refresh_token') {
      const g = this.refreshGrants.find((x) => x.clientId === form.client_id);
      if (!g || g.clientSecret !== form.client_secret) return reply(401, { error: 'invalid_client', error_description: 'Unauthorized' });
      if (g.refreshToken !== form.refresh_token) return reply(400, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });
      return reply(200, this.issue('google', 'refresh_token', [g.user], 'https://mail.google.com/'));
    }
    if (form.grant_type === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      const [h, p, s] = (form.assertion ?? '').split('.');
      let header: Record<string, unknown>;
      let claims: Record<string, unknown>;
      try {
        header = JSON.parse(Buffer.from(h, 'base64url').toString());
        claims = JSON.parse(Buffer.from(p, 'base64url').toString());
      } catch {
        return reply(400, { error: 'invalid_grant', error_description: 'Invalid JWT' });
      }
      const sa = this.serviceAccounts.find((x) => x.clientEmail === claims.iss);
      const now = Math.floor(Date.now() / 1000);
      if (!sa || header.alg !== 'RS256' || header.kid !== sa.keyId || !verify('sha256', Buffer.from(`${h}.${p}`), sa.publicKey, Buffer.from(s ?? '', 'base64url'))) {
        return reply(400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
      }
      if (claims.aud !== this.googleTokenUrl || typeof claims.exp !== 'number' || claims.exp < now || typeof claims.iat !== 'number' || claims.iat > now + 60) {
        return reply(400, { error: 'invalid_grant', error_description: 'Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.' });
      }
      if (claims.scope !== 'https://mail.google.com/' || typeof claims.sub !== 'string' || !sa.users.includes(claims.sub)) {
        return reply(401, { error: 'unauthorized_client', error_description: 'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.' });
      }
      return reply(200, this.issue('google', 'jwt-bearer', [claims.sub], 'https://mail.google.com/'));
    }
    reply(400, { error: 'unsupported_grant_type' });
  }

  private issue(provider: IssuedToken['provider'], grant: IssuedToken['grant'], users: string[], scope?: string) {
    const token = `${provider === 'microsoft' ? 'eyJ0eXAi' : 'ya29'}.at-${randomBytes(24).toString('base64url')}`;
    this.issued.push({ provider, grant, token, users: users.map((u) => u.toLowerCase()), expiresAt: Date.now() + this.expiresIn * 1000 });
    return { token_type: 'Bearer', access_token: token, expires_in: this.expiresIn, ...(scope ? { scope } : {}) };
  }
}
