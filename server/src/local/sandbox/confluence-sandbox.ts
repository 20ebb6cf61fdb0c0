import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWK, type CryptoKey } from 'jose';
import type { LocalTrust } from '../../auth/forge-token.verifier';
import { DEMO_APP_ID, DEMO_CLOUD_ID, DEMO_INSTALLATION_ID, DEMO_USERS, type DemoUser } from './demo-site';

export interface InvocationOptions {
  principal?: string | null;
  installationId?: string;
  appId?: string;
  apiBaseUrl?: string;
  ttlSeconds?: number;
  context?: Record<string, unknown>;
}

/**
 * Plays Atlassian's side in local mode and in tests: signs Forge invocation tokens with its own RS256 key, publishes
 * the key set, and serves the Confluence REST endpoints Mailpage calls, checking the bearer tokens it handed out,
 * like the real host. It listens on 127.0.0.1 only and refuses to exist in production.
 */
export class ConfluenceSandbox {
  private server: Server | null = null;
  private key!: { privateKey: CryptoKey; jwk: JWK };
  private readonly userTokens = new Map<string, string>();
  private readonly appTokens = new Set<string>();
  readonly users = new Map<string, DemoUser>(DEMO_USERS.map((u) => [u.accountId, { ...u }]));
  origin = '';

  constructor() {
    if (process.env.NODE_ENV === 'production') throw new Error('The Confluence sandbox is for local mode and tests only');
  }

  async start(port = 0): Promise<this> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    this.key = { privateKey, jwk: { ...(await exportJWK(publicKey)), kid: `sandbox-${randomUUID()}`, alg: 'RS256', use: 'sig' } };
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  get apiBaseUrl(): string {
    return `${this.origin}/ex/confluence/${DEMO_CLOUD_ID}`;
  }

  get jwks(): { keys: JWK[] } {
    return { keys: [this.key.jwk] };
  }

  /** What local mode adds to the token verifier: trust in this sandbox's keys, app id and API host. */
  trust(): LocalTrust {
    return {
      keys: createLocalJWKSet(this.jwks),
      appId: DEMO_APP_ID,
      apiOrigin: this.origin,
      localTenant: { id: DEMO_INSTALLATION_ID, apiBaseUrl: this.apiBaseUrl, systemToken: this.issueAppToken() },
    };
  }

  /** A Forge invocation token as the platform would send it with `invokeRemote`. */
  async signInvocation(opts: InvocationOptions = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const payload: Record<string, unknown> = {
      app: {
        id: opts.appId ?? DEMO_APP_ID,
        installationId: `ari:cloud:ecosystem::installation/${opts.installationId ?? DEMO_INSTALLATION_ID}`,
        apiBaseUrl: opts.apiBaseUrl ?? this.apiBaseUrl,
        appVersion: '1.0.0',
        environment: { type: 'DEVELOPMENT', id: 'sandbox' },
        module: { type: 'xen:macro', key: 'send-page' },
      },
      context: { cloudId: DEMO_CLOUD_ID, siteUrl: this.origin, ...(opts.context ?? {}) },
    };
    if (opts.principal !== null) payload.principal = opts.principal ?? 'alice';
    return new SignJWT(payload)
      .setProtectedHeader({ alg: 'RS256', kid: this.key.jwk.kid })
      .setIssuer('forge/invocation-token')
      .setAudience(opts.appId ?? DEMO_APP_ID)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + (opts.ttlSeconds ?? 25))
      .setJti(randomUUID())
      .sign(this.key.privateKey);
  }

  /** The `x-forge-oauth-user` token for a user: opaque, checked by this sandbox's REST endpoints. */
  issueUserToken(accountId: string): string {
    const token = `sbu_${randomBytes(24).toString('base64url')}`;
    this.userTokens.set(token, accountId);
    return token;
  }

  /** The `x-forge-oauth-system` token: acts as the app. */
  issueAppToken(): string {
    const token = `sba_${randomBytes(24).toString('base64url')}`;
    this.appTokens.add(token);
    return token;
  }

  /** Headers a Forge `invokeRemote` call carries for a user. */
  async invocationHeaders(accountId: string, opts: InvocationOptions = {}): Promise<Record<string, string>> {
    return {
      authorization: `Bearer ${await this.signInvocation({ ...opts, principal: accountId })}`,
      'x-forge-oauth-user': this.issueUserToken(accountId),
      'x-forge-oauth-system': this.issueAppToken(),
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/.well-known/jwks.json') return send(200, this.jwks);
    const prefix = `/ex/confluence/${DEMO_CLOUD_ID}`;
    if (!url.pathname.startsWith(prefix)) return send(404, { message: 'Not found' });
    const path = url.pathname.slice(prefix.length);
    const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const asUser = this.userTokens.get(bearer);
    const asApp = this.appTokens.has(bearer);
    if (!asUser && !asApp) return send(401, { message: 'Unauthorized' });

    if (req.method === 'GET' && path === '/wiki/rest/api/user/current') {
      if (!asUser) return send(403, { message: 'The app token cannot read the current user' });
      const u = this.users.get(asUser);
      if (!u) return send(404, { message: 'No such user' });
      const expand = (url.searchParams.get('expand') ?? '').split(',');
      return send(200, {
        type: 'known',
        accountId: u.accountId,
        accountType: 'atlassian',
        email: u.email ?? '',
        publicName: u.displayName,
        displayName: u.displayName,
        ...(expand.includes('operations') ? { operations: [{ operation: 'use', targetType: 'application' }, ...(u.siteAdmin ? [{ operation: 'administer', targetType: 'application' }] : [])] } : {}),
      });
    }
    return send(404, { message: 'Not found' });
  }
}
