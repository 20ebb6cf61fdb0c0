import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWK, type CryptoKey } from 'jose';
import type { LocalTrust } from '../../auth/forge-token.verifier';
import {
  DEMO_APP_ID,
  DEMO_ATTACHMENTS,
  DEMO_CLOUD_ID,
  DEMO_GROUPS,
  DEMO_INSTALLATION_ID,
  DEMO_PAGES,
  DEMO_SPACES,
  DEMO_USERS,
  type DemoAttachment,
  type DemoGrant,
  type DemoPage,
  type DemoSpace,
  type DemoUser,
} from './demo-site';

export interface InvocationOptions {
  principal?: string | null;
  installationId?: string;
  appId?: string;
  apiBaseUrl?: string;
  ttlSeconds?: number;
  context?: Record<string, unknown>;
}

/** One request the sandbox answered: never a body, never a token. */
export interface SandboxRequest {
  /** `api`: the Confluence REST host; `media`: the file host the attachment download redirects to. */
  host: 'api' | 'media';
  method: string;
  /** For `api`, relative to `apiBaseUrl` (e.g. `/wiki/api/v2/pages/163845`). */
  path: string;
  /** The query string without `?`. */
  query: string;
  /** Which bearer came with it: a user token, the app token, none, or one the sandbox never issued. */
  as: 'user' | 'app' | 'none' | 'invalid';
  accountId: string | null;
}

export type NewUser = Pick<DemoUser, 'accountId' | 'displayName'> & Partial<Omit<DemoUser, 'accountId' | 'displayName'>>;

type Caller = { kind: 'user'; user: DemoUser } | { kind: 'app' };

const V1_DEFAULT_LIMIT = 25;
const V2_DEFAULT_LIMIT = 25;
const MEDIA_TOKEN_MS = 60_000;
const MODIFIED = 1717000000000;

/**
 * Plays Atlassian's side in local mode and in tests: signs Forge invocation tokens with its own RS256 key, publishes
 * the key set, and serves the Confluence REST endpoints Mailpage calls with the response shapes of Confluence Cloud,
 * checking the bearer tokens it handed out like the real host (a user token sees what that user may see). Attachment
 * downloads redirect to a second "media" host, as Confluence's redirect to the media platform does. Both listen on
 * 127.0.0.1 only; the sandbox refuses to exist in production.
 */
export class ConfluenceSandbox {
  private server: Server | null = null;
  private media: Server | null = null;
  private key!: { privateKey: CryptoKey; jwk: JWK };
  private readonly userTokens = new Map<string, string>();
  private readonly appTokens = new Set<string>();
  private readonly mediaTokens = new Map<string, { attachmentId: string; expires: number }>();
  readonly users = new Map<string, DemoUser>(DEMO_USERS.map((u) => [u.accountId, { ...u, groups: [...u.groups] }]));
  readonly groups = new Set<string>(DEMO_GROUPS);
  readonly spaces = new Map<string, DemoSpace>(DEMO_SPACES.map((s) => [s.id, structuredClone(s)]));
  readonly pages = new Map<string, DemoPage>(DEMO_PAGES.map((p) => [p.id, { ...p, restrictedTo: p.restrictedTo ? [...p.restrictedTo] : null }]));
  readonly attachments = new Map<string, DemoAttachment>(DEMO_ATTACHMENTS.map((a) => [a.id, { ...a }]));
  /** Every request the service made, in order (method, path, query, which token): for tests to assert calls. The last 1000. */
  readonly requests: SandboxRequest[] = [];
  /** The most results one v2 list page holds (Confluence Cloud: 250). Tests lower it to see cursor paging. */
  v2PageLimit = 250;
  /** The most results one v1 list page holds (memberof: 200). */
  v1PageLimit = 200;
  /** `/user/email`: answered (an approved app), 400 (app not approved for the email API) or 501. */
  emailApi: 'approved' | 'not-approved' | 'unavailable' = 'approved';
  /** Where the attachment download's 302 points: the media host (another origin) or a path on the API host. */
  downloadRedirect: 'media' | 'same-origin' = 'media';
  /** Answer downloads without Content-Length (chunked), so only a streaming limit can stop a large one. */
  omitContentLength = false;
  origin = '';
  mediaOrigin = '';

  constructor() {
    if (process.env.NODE_ENV === 'production') throw new Error('The Confluence sandbox is for local mode and tests only');
  }

  async start(port = 0): Promise<this> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    this.key = { privateKey, jwk: { ...(await exportJWK(publicKey)), kid: `sandbox-${randomUUID()}`, alg: 'RS256', use: 'sig' } };
    this.server = await listen((req, res) => void this.handle(req, res), port);
    this.media = await listen((req, res) => this.handleMedia(req, res), 0);
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.mediaOrigin = `http://127.0.0.1:${(this.media.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    const servers = [this.server, this.media];
    this.server = null;
    this.media = null;
    await Promise.all(servers.map((s) => (s ? new Promise<void>((resolve) => s.close(() => resolve())) : undefined)));
  }

  get apiBaseUrl(): string {
    return `${this.origin}/ex/confluence/${DEMO_CLOUD_ID}`;
  }

  /** The site's Confluence base, as Confluence gives it in `_links.base`. */
  get wikiBaseUrl(): string {
    return `${this.origin}/wiki`;
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

  // -------------------------------------------------------------------------------------------------------------
  // Helpers for tests and the local-mode SPA.

  /** Adds (or replaces) a user; by default a visible email `<accountId>@example.com` and the group confluence-users. */
  addUser(user: NewUser): DemoUser {
    const email = user.email === undefined ? `${user.accountId}@example.com` : user.email;
    const added: DemoUser = {
      accountId: user.accountId,
      displayName: user.displayName,
      email,
      realEmail: user.realEmail ?? email ?? `${user.accountId}@example.com`,
      groups: [...(user.groups ?? ['confluence-users'])],
      siteAdmin: user.siteAdmin ?? false,
    };
    for (const g of added.groups) this.groups.add(g);
    this.users.set(added.accountId, added);
    return added;
  }

  /** Makes exactly these accounts the members of `group` (creating the group if it is new). */
  setGroupMembers(group: string, accountIds: string[]): void {
    for (const id of accountIds) if (!this.users.has(id)) throw new Error(`The sandbox has no user ${id}`);
    this.groups.add(group);
    const members = new Set(accountIds);
    for (const u of this.users.values()) {
      const member = members.has(u.accountId);
      u.groups = u.groups.filter((g) => g !== group);
      if (member) u.groups.push(group);
    }
  }

  /** Who administers a space (by key). */
  setSpaceAdmins(spaceKey: string, grant: Partial<DemoGrant>): void {
    const space = this.spaceByKey(spaceKey);
    space.administer = { users: [...(grant.users ?? [])], groups: [...(grant.groups ?? [])] };
  }

  /** Who may view a space (by key). */
  setSpaceViewers(spaceKey: string, grant: Partial<DemoGrant>): void {
    const space = this.spaceByKey(spaceKey);
    space.view = { users: [...(grant.users ?? [])], groups: [...(grant.groups ?? [])] };
  }

  private log(entry: SandboxRequest): void {
    this.requests.push(entry);
    // Local mode runs for days: keep the log bounded.
    if (this.requests.length > 1000) this.requests.splice(0, this.requests.length - 1000);
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  /** The spaces and their pages, for the local-mode page picker. */
  spaceSummaries(): { key: string; name: string; pages: { id: string; title: string }[] }[] {
    return [...this.spaces.values()].map((s) => ({
      key: s.key,
      name: s.name,
      pages: [...this.pages.values()].filter((p) => p.spaceId === s.id).map((p) => ({ id: p.id, title: p.title })),
    }));
  }

  private spaceByKey(spaceKey: string): DemoSpace {
    const space = [...this.spaces.values()].find((s) => s.key === spaceKey);
    if (!space) throw new Error(`The sandbox has no space ${spaceKey}`);
    return space;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Permissions, as Confluence decides them.

  private granted(grant: DemoGrant, user: DemoUser): boolean {
    return grant.users.includes(user.accountId) || user.groups.some((g) => grant.groups.includes(g));
  }

  private isSpaceAdmin(caller: Caller, space: DemoSpace): boolean {
    return caller.kind === 'user' && this.granted(space.administer, caller.user);
  }

  private canViewSpace(caller: Caller, space: DemoSpace): boolean {
    return caller.kind === 'app' || this.granted(space.view, caller.user) || this.isSpaceAdmin(caller, space);
  }

  private canViewPage(caller: Caller, page: DemoPage): boolean {
    const space = this.spaces.get(page.spaceId);
    if (!space || !this.canViewSpace(caller, space)) return false;
    return caller.kind === 'app' || !page.restrictedTo || page.restrictedTo.includes(caller.user.accountId);
  }

  private visibleAttachment(caller: Caller, id: string): DemoAttachment | null {
    const att = this.attachments.get(id);
    const page = att && this.pages.get(att.pageId);
    return att && page && this.canViewPage(caller, page) ? att : null;
  }

  // -------------------------------------------------------------------------------------------------------------
  // The REST host.

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    if (url.pathname === '/.well-known/jwks.json') return json(res, 200, this.jwks);
    const prefix = `/ex/confluence/${DEMO_CLOUD_ID}`;
    const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const asUser = bearer ? this.userTokens.get(bearer) : undefined;
    const asApp = bearer ? this.appTokens.has(bearer) : false;
    if (!url.pathname.startsWith(`${prefix}/`)) return json(res, 404, { message: 'Not found' });
    const path = url.pathname.slice(prefix.length);
    this.log({
      host: 'api',
      method: req.method ?? 'GET',
      path,
      query: url.search.slice(1),
      as: asUser ? 'user' : asApp ? 'app' : bearer ? 'invalid' : 'none',
      accountId: asUser ?? null,
    });
    // The API gateway answers 401 before Confluence sees the request.
    if (!asUser && !asApp) return json(res, 401, { code: 401, message: 'Unauthorized' });
    const user = asUser ? this.users.get(asUser) : undefined;
    if (asUser && !user) return json(res, 401, { code: 401, message: 'Unauthorized' });
    const caller: Caller = user ? { kind: 'user', user } : { kind: 'app' };
    if (req.method !== 'GET') return v1Error(res, 405, 'Method not allowed');
    const q = url.searchParams;
    let m: RegExpExecArray | null;

    if (path === '/wiki/rest/api/user/current') return this.currentUser(res, caller, q);
    if (path === '/wiki/rest/api/user') return this.getUser(res, q);
    if (path === '/wiki/rest/api/user/email') return this.getEmail(res, caller, q);
    if (path === '/wiki/rest/api/user/memberof') return this.memberOf(res, q);
    if (path === '/wiki/rest/api/search/user') return this.searchUsers(res, q);
    if (path === '/wiki/rest/api/group/by-name') return this.groupByName(res, q);
    if (path === '/wiki/rest/api/group/picker') return this.groupPicker(res, q);
    if (path === '/wiki/rest/api/group/member') return this.groupMembers(res, q, this.groupNamed(q.get('name') ?? ''));
    if ((m = /^\/wiki\/rest\/api\/group\/([^/]+)\/membersByGroupId$/.exec(path))) return this.groupMembers(res, q, this.groupWithId(safeDecode(m[1])));
    if (path === '/wiki/api/v2/spaces') return this.listSpaces(res, caller, q);
    if ((m = /^\/wiki\/api\/v2\/spaces\/(\d+)$/.exec(path))) return this.getSpace(res, caller, m[1]);
    if ((m = /^\/wiki\/api\/v2\/spaces\/(\d+)\/operations$/.exec(path))) return this.spaceOperations(res, caller, m[1]);
    if ((m = /^\/wiki\/api\/v2\/pages\/(\d+)$/.exec(path))) return this.getPage(res, caller, m[1], q);
    if ((m = /^\/wiki\/api\/v2\/pages\/(\d+)\/attachments$/.exec(path))) return this.pageAttachments(res, caller, m[1], q);
    if ((m = /^\/wiki\/api\/v2\/attachments\/([^/]+)$/.exec(path))) return this.getAttachment(res, caller, m[1]);
    if ((m = /^\/wiki\/rest\/api\/content\/(\d+)\/child\/attachment\/([^/]+)\/download$/.exec(path))) return this.download(res, caller, m[1], m[2]);
    if ((m = /^\/wiki\/download\/attachments\/(\d+)\/([^/]+)$/.exec(path))) return this.downloadByName(res, caller, m[1], safeDecode(m[2]));
    return path.startsWith('/wiki/api/v2/') ? v2Error(res, 404) : v1Error(res, 404, 'null for uri: ' + path);
  }

  private userJson(u: DemoUser, email: string | null): Record<string, unknown> {
    return {
      type: 'known',
      accountId: u.accountId,
      accountType: 'atlassian',
      email,
      publicName: u.displayName,
      profilePicture: { path: `/wiki/aa-avatar/${u.accountId}`, width: 48, height: 48, isDefault: false },
      displayName: u.displayName,
      isExternalCollaborator: false,
      isGuest: false,
      _expandable: { operations: '', personalSpace: '' },
      _links: { self: `${this.wikiBaseUrl}/rest/api/user?accountId=${encodeURIComponent(u.accountId)}`, base: this.wikiBaseUrl, context: '/wiki' },
    };
  }

  private currentUser(res: ServerResponse, caller: Caller, q: URLSearchParams): void {
    if (caller.kind !== 'user') return v1Error(res, 403, 'The app token cannot read the current user');
    const u = caller.user;
    const expand = (q.get('expand') ?? '').split(',');
    json(res, 200, {
      ...this.userJson(u, u.email ?? ''),
      ...(expand.includes('operations') ? { operations: [{ operation: 'use', targetType: 'application' }, ...(u.siteAdmin ? [{ operation: 'administer', targetType: 'application' }] : [])] } : {}),
    });
  }

  /** A hidden email is an empty string here (the v1 User model). */
  private getUser(res: ServerResponse, q: URLSearchParams): void {
    const u = this.users.get(q.get('accountId') ?? '');
    if (!u) return v1Error(res, 404, `No user found with accountId : ${q.get('accountId') ?? ''}`);
    json(res, 200, this.userJson(u, u.email ?? ''));
  }

  private getEmail(res: ServerResponse, caller: Caller, q: URLSearchParams): void {
    if (caller.kind !== 'app') return v1Error(res, 403, 'This API is only available to apps (asApp).');
    if (this.emailApi === 'unavailable') return v1Error(res, 501, 'Not implemented');
    if (this.emailApi === 'not-approved') return v1Error(res, 400, 'This app is not approved to use the email API.');
    const u = this.users.get(q.get('accountId') ?? '');
    if (!u) return v1Error(res, 404, `No user found with accountId : ${q.get('accountId') ?? ''}`);
    json(res, 200, { accountId: u.accountId, email: u.realEmail });
  }

  private memberOf(res: ServerResponse, q: URLSearchParams): void {
    const accountId = q.get('accountId') ?? '';
    const u = this.users.get(accountId);
    if (!u) return v1Error(res, 404, `No user found with accountId : ${accountId}`);
    const all = [...new Set(u.groups)].sort();
    const { start, limit } = v1Paging(q, this.v1PageLimit);
    const page = all.slice(start, start + limit);
    const self = `${this.wikiBaseUrl}/rest/api/user/memberof?accountId=${encodeURIComponent(accountId)}`;
    json(res, 200, {
      results: page.map((name) => ({ type: 'group', name, id: groupId(name), _links: { self: `${this.wikiBaseUrl}/rest/api/group/by-id?id=${groupId(name)}` } })),
      start,
      limit,
      size: page.length,
      _links: {
        base: this.wikiBaseUrl,
        context: '/wiki',
        self,
        ...(start + limit < all.length ? { next: `/rest/api/user/memberof?accountId=${encodeURIComponent(accountId)}&start=${start + limit}&limit=${limit}` } : {}),
      },
    });
  }

  private searchUsers(res: ServerResponse, q: URLSearchParams): void {
    const cql = q.get('cql') ?? '';
    const m = /^\s*user\.fullname\s*~\s*"((?:[^"\\]|\\.)*)"\s*$/.exec(cql);
    if (!m) return v1Error(res, 400, `Could not parse cql : ${cql}`);
    const needle = m[1].replace(/\\(.)/g, '$1').toLowerCase();
    const all = [...this.users.values()].filter((u) => u.displayName.toLowerCase().includes(needle)).sort((a, b) => a.displayName.localeCompare(b.displayName));
    const { start, limit } = v1Paging(q, 50);
    const page = all.slice(start, start + limit);
    json(res, 200, {
      results: page.map((u) => ({
        // Search answers null for a hidden email (privacy setting), unlike /user's empty string.
        user: this.userJson(u, u.email),
        title: u.displayName,
        excerpt: '',
        url: `/people/${u.accountId}`,
        breadcrumbs: [],
        entityType: 'user',
        iconCssClass: 'aui-icon content-type-profile',
        lastModified: '2024-05-29T08:00:00.000Z',
        score: 0,
      })),
      start,
      limit,
      size: page.length,
      totalSize: all.length,
      cqlQuery: cql,
      searchDuration: 7,
      _links: { base: this.wikiBaseUrl, context: '/wiki' },
    });
  }

  private groupJson(name: string): Record<string, unknown> {
    return { type: 'group', name, id: groupId(name), _links: { self: `${this.wikiBaseUrl}/rest/api/group/by-id?id=${groupId(name)}` } };
  }

  private groupNamed(name: string): string | null {
    return this.groups.has(name) ? name : null;
  }

  private groupWithId(id: string): string | null {
    return [...this.groups].find((g) => groupId(g) === id) ?? null;
  }

  private groupByName(res: ServerResponse, q: URLSearchParams): void {
    const name = this.groupNamed(q.get('name') ?? '');
    if (!name) return v1Error(res, 404, `No group found with name : ${q.get('name') ?? ''}`);
    json(res, 200, this.groupJson(name));
  }

  /** Groups whose name contains the query, alphabetically (v1 `group/picker`). */
  private groupPicker(res: ServerResponse, q: URLSearchParams): void {
    const needle = (q.get('query') ?? '').toLowerCase();
    const all = [...this.groups].filter((g) => g.toLowerCase().includes(needle)).sort();
    const { start, limit } = v1Paging(q, 200);
    const page = all.slice(start, start + limit);
    json(res, 200, { results: page.map((g) => this.groupJson(g)), start, limit, size: page.length, _links: { base: this.wikiBaseUrl, context: '/wiki' } });
  }

  /**
   * A group's members (v1 `group/{groupId}/membersByGroupId`, and the deprecated `group/member?name=`): a v1 UserArray
   * paged with start/limit (at most 200), `totalSize` only with `shouldReturnTotalSize=true`. A hidden email is "".
   */
  private groupMembers(res: ServerResponse, q: URLSearchParams, name: string | null): void {
    if (!name) return v1Error(res, 404, 'No group found');
    const all = [...this.users.values()].filter((u) => u.groups.includes(name)).sort((a, b) => a.accountId.localeCompare(b.accountId));
    const { start, limit } = v1Paging(q, this.v1PageLimit);
    const page = all.slice(start, start + limit);
    const self = `/rest/api/group/${groupId(name)}/membersByGroupId`;
    json(res, 200, {
      results: page.map((u) => this.userJson(u, u.email ?? '')),
      start,
      limit,
      size: page.length,
      ...(q.get('shouldReturnTotalSize') === 'true' ? { totalSize: all.length } : {}),
      _links: { base: this.wikiBaseUrl, context: '/wiki', self: `${this.wikiBaseUrl}${self}`, ...(start + limit < all.length ? { next: `${self}?start=${start + limit}&limit=${limit}` } : {}) },
    });
  }

  private spaceJson(s: DemoSpace): Record<string, unknown> {
    return {
      id: s.id,
      key: s.key,
      name: s.name,
      type: 'global',
      status: 'current',
      authorId: 'sandbox-admin',
      createdAt: '2024-05-01T08:00:00.000Z',
      homepageId: s.homepageId,
      description: null,
      icon: null,
      _links: { webui: `/spaces/${s.key}` },
    };
  }

  private listSpaces(res: ServerResponse, caller: Caller, q: URLSearchParams): void {
    const keys = q.getAll('keys').flatMap((k) => k.split(',')).filter(Boolean);
    const ids = q.getAll('ids').flatMap((k) => k.split(',')).filter(Boolean);
    const all = [...this.spaces.values()]
      .filter((s) => this.canViewSpace(caller, s))
      .filter((s) => !keys.length || keys.includes(s.key))
      .filter((s) => !ids.length || ids.includes(s.id));
    this.v2List(res, '/wiki/api/v2/spaces', q, all.map((s) => this.spaceJson(s)));
  }

  private getSpace(res: ServerResponse, caller: Caller, id: string): void {
    const s = this.spaces.get(id);
    if (!s || !this.canViewSpace(caller, s)) return v2Error(res, 404);
    json(res, 200, this.spaceJson(s));
  }

  private spaceOperations(res: ServerResponse, caller: Caller, id: string): void {
    const s = this.spaces.get(id);
    if (!s || !this.canViewSpace(caller, s)) return v2Error(res, 404);
    const operations = [
      { operation: 'read', targetType: 'space' },
      ...(caller.kind === 'user'
        ? [
            { operation: 'create', targetType: 'page' },
            { operation: 'create', targetType: 'blogpost' },
            { operation: 'create', targetType: 'comment' },
            { operation: 'create', targetType: 'attachment' },
          ]
        : []),
      ...(this.isSpaceAdmin(caller, s)
        ? [
            { operation: 'administer', targetType: 'space' },
            { operation: 'export', targetType: 'space' },
            { operation: 'restrict_content', targetType: 'space' },
          ]
        : []),
    ];
    json(res, 200, { operations });
  }

  private getPage(res: ServerResponse, caller: Caller, id: string, q: URLSearchParams): void {
    const page = this.pages.get(id);
    // Confluence answers 404, not 403, for a page the caller may not see: it does not reveal that it exists.
    if (!page || !this.canViewPage(caller, page)) return v2Error(res, 404);
    const space = this.spaces.get(page.spaceId)!;
    const format = q.get('body-format');
    let body: Record<string, unknown> = {};
    if (format === 'export_view' || format === 'view') body = { [format]: { representation: format, value: page.exportView(this.wikiBaseUrl) } };
    else if (format === 'storage') body = { storage: { representation: 'storage', value: page.storage } };
    else if (format) return v2Error(res, 400, `Invalid body-format: ${format}`);
    const slug = encodeURIComponent(page.title).replace(/%20/g, '+');
    json(res, 200, {
      id: page.id,
      status: 'current',
      title: page.title,
      spaceId: page.spaceId,
      parentId: page.parentId,
      parentType: page.parentId ? 'page' : null,
      position: 0,
      authorId: page.authorId,
      ownerId: page.authorId,
      lastOwnerId: null,
      createdAt: page.createdAt,
      version: { createdAt: page.createdAt, message: '', number: page.version, minorEdit: false, authorId: page.authorId },
      body,
      _links: {
        editui: `/pages/resumedraft.action?draftId=${page.id}`,
        webui: `/spaces/${space.key}/pages/${page.id}/${slug}`,
        edituiv2: `/spaces/${space.key}/pages/edit-v2/${page.id}`,
        tinyui: `/x/${Buffer.from(page.id).toString('base64url')}`,
        base: this.wikiBaseUrl,
      },
    });
  }

  private attachmentJson(a: DemoAttachment): Record<string, unknown> {
    const download = `/download/attachments/${a.pageId}/${encodeURIComponent(a.title)}?version=1&modificationDate=${MODIFIED}&cacheVersion=1&api=v2`;
    const webui = `/pages/viewpageattachments.action?pageId=${a.pageId}&preview=${encodeURIComponent(`/${a.id.slice(3)}/${a.pageId}/${a.title}`)}`;
    return {
      id: a.id,
      status: 'current',
      title: a.title,
      createdAt: a.createdAt,
      pageId: a.pageId,
      mediaType: a.mediaType,
      mediaTypeDescription: a.mediaType.startsWith('image/') ? `${a.mediaType.slice(6).toUpperCase()} Image` : a.mediaType === 'application/pdf' ? 'PDF Document' : 'Text File',
      comment: '',
      fileId: a.fileId,
      fileSize: a.content.length,
      webuiLink: webui,
      downloadLink: download,
      version: { createdAt: a.createdAt, message: '', number: 1, minorEdit: false, authorId: 'alice' },
      _links: { webui, download },
    };
  }

  private pageAttachments(res: ServerResponse, caller: Caller, id: string, q: URLSearchParams): void {
    const page = this.pages.get(id);
    if (!page || !this.canViewPage(caller, page)) return v2Error(res, 404);
    const filename = q.get('filename');
    const all = [...this.attachments.values()].filter((a) => a.pageId === id && (!filename || a.title === filename));
    this.v2List(res, `/wiki/api/v2/pages/${id}/attachments`, q, all.map((a) => this.attachmentJson(a)));
  }

  private getAttachment(res: ServerResponse, caller: Caller, id: string): void {
    const att = this.visibleAttachment(caller, /^\d+$/.test(id) ? `att${id}` : id);
    if (!att) return v2Error(res, 404);
    json(res, 200, this.attachmentJson(att));
  }

  /** v1 download: 302 to the bytes, as Confluence redirects to the media platform with a short-lived token of its own. */
  private download(res: ServerResponse, caller: Caller, pageId: string, attachmentId: string): void {
    const att = this.visibleAttachment(caller, attachmentId);
    if (!att || att.pageId !== pageId) return v1Error(res, 404, `No attachment with id ${attachmentId} on content ${pageId}`);
    let location: string;
    if (this.downloadRedirect === 'same-origin') {
      location = `${this.apiBaseUrl}/wiki/download/attachments/${att.pageId}/${encodeURIComponent(att.title)}?version=1&modificationDate=${MODIFIED}&api=v2`;
    } else {
      const token = randomBytes(24).toString('base64url');
      for (const [t, g] of this.mediaTokens) if (g.expires <= Date.now()) this.mediaTokens.delete(t);
      this.mediaTokens.set(token, { attachmentId: att.id, expires: Date.now() + MEDIA_TOKEN_MS });
      location = `${this.mediaOrigin}/file/${att.fileId}/binary?token=${token}&client=${DEMO_CLOUD_ID}&dl=true&name=${encodeURIComponent(att.title)}`;
    }
    res.writeHead(302, { location, 'content-length': '0' });
    res.end();
  }

  private downloadByName(res: ServerResponse, caller: Caller, pageId: string, title: string): void {
    const att = [...this.attachments.values()].find((a) => a.pageId === pageId && a.title === title);
    if (!att || !this.visibleAttachment(caller, att.id)) return v1Error(res, 404, 'Not found');
    this.sendBytes(res, att);
  }

  /** A v2 cursor list: `limit` and an opaque `cursor`; `_links.next` and a `Link` header point to the next page. */
  private v2List(res: ServerResponse, path: string, q: URLSearchParams, all: Record<string, unknown>[]): void {
    const requested = Number.parseInt(q.get('limit') ?? '', 10);
    const limit = Math.max(1, Math.min(Number.isFinite(requested) ? requested : V2_DEFAULT_LIMIT, this.v2PageLimit));
    let offset = 0;
    const cursor = q.get('cursor');
    if (cursor) {
      try {
        offset = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { offset: number }).offset;
      } catch {
        return v2Error(res, 400, 'Invalid cursor');
      }
      if (!Number.isInteger(offset) || offset < 0) return v2Error(res, 400, 'Invalid cursor');
    }
    const results = all.slice(offset, offset + limit);
    const headers: Record<string, string> = {};
    const links: Record<string, string> = { base: this.wikiBaseUrl };
    if (offset + limit < all.length) {
      const nextQuery = new URLSearchParams(q);
      nextQuery.set('limit', String(limit));
      nextQuery.set('cursor', Buffer.from(JSON.stringify({ offset: offset + limit })).toString('base64url'));
      links.next = `${path}?${nextQuery.toString()}`;
      headers.link = `<${links.next}>; rel="next", <${this.wikiBaseUrl}>; rel="base"`;
    }
    json(res, 200, { results, _links: links }, headers);
  }

  // -------------------------------------------------------------------------------------------------------------
  // The media host: answers a download URL carrying its own token. A request that also brings someone else's
  // bearer is refused, so a client that forwards the Confluence token across origins notices.

  private handleMedia(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.mediaOrigin);
    const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    this.log({
      host: 'media',
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search.slice(1),
      as: this.userTokens.has(bearer) ? 'user' : this.appTokens.has(bearer) ? 'app' : bearer ? 'invalid' : 'none',
      accountId: this.userTokens.get(bearer) ?? null,
    });
    if (req.headers.authorization) return json(res, 401, { error: { code: 'Unauthorized', title: 'The Authorization header is not a media token' } });
    const m = /^\/file\/([^/]+)\/binary$/.exec(url.pathname);
    const grant = this.mediaTokens.get(url.searchParams.get('token') ?? '');
    const att = grant && grant.expires > Date.now() ? this.attachments.get(grant.attachmentId) : undefined;
    if (!m || !att || att.fileId !== m[1]) return json(res, 403, { error: { code: 'Forbidden', title: 'Token is not valid for this file' } });
    this.sendBytes(res, att);
  }

  private sendBytes(res: ServerResponse, att: DemoAttachment): void {
    res.writeHead(200, {
      'content-type': att.mediaType,
      'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(att.title)}`,
      ...(this.omitContentLength ? {} : { 'content-length': String(att.content.length) }),
    });
    if (this.omitContentLength) {
      // Several chunks, so a streaming reader sees the body arrive in parts.
      for (let i = 0; i < att.content.length; i += 256) res.write(att.content.subarray(i, i + 256));
      res.end();
    } else {
      res.end(att.content);
    }
  }
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void, port: number): Promise<Server> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return server;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** A v1 error body, as Confluence's v1 REST API writes it. */
function v1Error(res: ServerResponse, status: number, message: string): void {
  json(res, status, { statusCode: status, data: { authorized: status !== 401 && status !== 403, valid: true, errors: [], successful: false }, message, reason: httpReason(status) });
}

/** A v2 error body: `{ errors: [{ status, code, title, detail }] }`. */
function v2Error(res: ServerResponse, status: number, detail: string | null = null): void {
  const title = httpReason(status);
  json(res, status, { errors: [{ status, code: title.toUpperCase().replace(/ /g, '_'), title, detail }] });
}

function httpReason(status: number): string {
  return { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 501: 'Not Implemented' }[status] ?? 'Error';
}

function v1Paging(q: URLSearchParams, max: number): { start: number; limit: number } {
  const start = Math.max(0, Number.parseInt(q.get('start') ?? '0', 10) || 0);
  const requested = Number.parseInt(q.get('limit') ?? '', 10);
  return { start, limit: Math.max(1, Math.min(Number.isFinite(requested) ? requested : V1_DEFAULT_LIMIT, max)) };
}

/** Stable, uuid-shaped group ids (Confluence Cloud's group ids are uuids). */
function groupId(name: string): string {
  const h = createHash('sha1').update(`group:${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
