import { Injectable, Optional } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import type { AuthContext } from '../auth/auth-context';
import { badRequest, DomainError } from '../common/domain-error';
import type { MailFile } from '../compose/compose.service';
import { formatSize } from '../compose/mail-files';
import { confluenceEndpoint } from '../metrics/confluence-endpoint';
import { MetricsService } from '../metrics/metrics.service';
import { findTags, isRelativeUrl, rewriteTags, type FoundTag } from './export-html';

const TIMEOUT_MS = 10_000;
const DOWNLOAD_TIMEOUT_MS = 30_000;
const CACHE_TTL_MS = 60_000;
const SPACE_KEY_TTL_MS = 10 * 60_000;
const MAX_LIST_PAGES = 50;
const GROUPS_PAGE = 200;
/** 100 pages of 200: a group of 20 000 members, far more than a send may hold. */
const MAX_GROUP_PAGES = 100;
const ATTACHMENTS_PAGE = 250;
const USER_SEARCH_LIMIT = 20;
const IMAGE_DOWNLOADS_AT_ONCE = 3;

export type CallAs = 'user' | 'app';

export interface ConfluenceUser {
  accountId: string;
  displayName: string;
  /** null when the user hides it (privacy setting). */
  email: string | null;
}

export interface ConfluenceAttachment {
  /** `att<number>`. */
  id: string;
  filename: string;
  mediaType: string;
  size: number;
}

export interface PageForMail {
  id: string;
  title: string;
  spaceKey: string;
  /** Export view; this site's images point at `cid:<filename>` of `images`, relative links are absolute. */
  html: string;
  images: MailFile[];
  /** Absolute link to the page in Confluence (`_links.base` + `_links.webui`), for "open the page" links; null if unknown. */
  pageUrl: string | null;
}

interface V1User {
  accountId?: string;
  accountType?: string;
  displayName?: string;
  publicName?: string;
  email?: string | null;
}

interface V2Space {
  id?: string;
  key?: string;
  name?: string;
}

interface V2Attachment {
  id?: string;
  title?: string;
  pageId?: string;
  mediaType?: string;
  fileSize?: number;
}

interface V2List<T> {
  results?: T[];
  _links?: { next?: string; base?: string };
}

/** Bytes already spoken for by downloads that share one limit (the page's images, or one attachment). */
interface Budget {
  used: number;
  readonly max: number;
  readonly tooLarge: () => DomainError;
}

const PAGE_ID = /^\d{1,20}$/;

/**
 * The one adapter for Confluence's REST API at `app.apiBaseUrl`. Calls go as the user (`x-forge-oauth-user`), so
 * Confluence itself decides what the user may see, or as the app (`x-forge-oauth-system`) where only the app may.
 * Tokens and content are never logged. A host failure becomes CONFLUENCE_UNAVAILABLE (502), a refusal FORBIDDEN (403),
 * a missing page or attachment NOT_FOUND (404); answers are cached briefly per tenant (see `invalidate`).
 */
@Injectable()
export class ConfluenceClient {
  private readonly adminCache = new LRUCache<string, boolean>({ max: 10_000, ttl: CACHE_TTL_MS });
  private readonly spaceAdminCache = new LRUCache<string, boolean>({ max: 10_000, ttl: CACHE_TTL_MS });
  private readonly groupsCache = new LRUCache<string, string[]>({ max: 10_000, ttl: CACHE_TTL_MS });
  /** Space id to key: not secret, rarely changes, asked for on every send. */
  private readonly spaceKeyCache = new LRUCache<string, string>({ max: 10_000, ttl: SPACE_KEY_TTL_MS });

  constructor(@Optional() private readonly metrics?: MetricsService) {}

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

  /**
   * The names of the groups `accountId` belongs to (v1 `user/memberof`, paged with start/limit). Asked as the app
   * where the request carries the app token, so the answer does not depend on what the user may see; else as the user.
   */
  async getGroups(auth: AuthContext, accountId: string = auth.accountId): Promise<string[]> {
    const key = `${auth.tenantId}:${accountId}`;
    const cached = this.groupsCache.get(key);
    if (cached) return [...cached];
    let unique: string[];
    try {
      unique = await this.memberOf(auth, auth.systemToken ? 'app' : 'user', accountId);
    } catch (e) {
      // An app the site has not granted this read may still ask as the user.
      if (!(e instanceof DomainError && e.code === 'FORBIDDEN' && auth.systemToken && auth.userToken)) throw e;
      unique = await this.memberOf(auth, 'user', accountId);
    }
    this.groupsCache.set(key, unique);
    return [...unique];
  }

  private async memberOf(auth: AuthContext, as: CallAs, accountId: string): Promise<string[]> {
    const names: string[] = [];
    for (let start = 0, page = 0; page < MAX_LIST_PAGES; page++) {
      const res = await this.getJson<{ results?: { name?: string }[]; size?: number; _links?: { next?: string } }>(
        auth,
        as,
        `/wiki/rest/api/user/memberof?${new URLSearchParams({ accountId, start: String(start), limit: String(GROUPS_PAGE) })}`,
        'That Confluence user does not exist.',
      );
      const results = res.results ?? [];
      for (const g of results) if (typeof g.name === 'string' && g.name) names.push(g.name);
      // v1 lists say there is more with `_links.next`; a full page without it is checked with one more request.
      if (results.length === 0 || (!res._links?.next && results.length < GROUPS_PAGE)) break;
      start += results.length;
    }
    return [...new Set(names)];
  }

  /**
   * Whether the user administers the space: v2 `spaces?keys=` gives the id, v2 `spaces/{id}/operations` lists what
   * the user may do there; `administer` on `space` is the space admin permission. A space the user cannot see is
   * one they do not administer.
   */
  async isSpaceAdmin(auth: AuthContext, spaceKey: string): Promise<boolean> {
    const key = `${auth.tenantId}:${auth.accountId}:${spaceKey}`;
    const cached = this.spaceAdminCache.get(key);
    if (cached !== undefined) return cached;
    const spaces = await this.getJson<V2List<V2Space>>(auth, 'user', `/wiki/api/v2/spaces?${new URLSearchParams({ keys: spaceKey, limit: '1' })}`);
    const space = (spaces.results ?? []).find((s) => s.key === spaceKey && typeof s.id === 'string');
    let admin = false;
    if (space?.id) {
      this.spaceKeyCache.set(`${auth.tenantId}:${space.id}`, spaceKey);
      try {
        const ops = await this.getJson<{ operations?: { operation?: string; targetType?: string }[] }>(auth, 'user', `/wiki/api/v2/spaces/${encodeURIComponent(space.id)}/operations`);
        admin = (ops.operations ?? []).some((o) => o.operation === 'administer' && o.targetType === 'space');
      } catch (e) {
        if (!(e instanceof DomainError && e.code === 'NOT_FOUND')) throw e;
      }
    }
    this.spaceAdminCache.set(key, admin);
    return admin;
  }

  /** Users whose full name matches (v1 CQL `user.fullname~"…"`), at most 20, as the user. App accounts are left out. */
  async searchUsers(auth: AuthContext, query: string): Promise<ConfluenceUser[]> {
    // Control characters have no place in a name and would end the CQL string early in some parsers.
    const q = query.replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
    if (!q) return [];
    const cql = `user.fullname~"${q.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
    const res = await this.getJson<{ results?: { user?: V1User }[] }>(
      auth,
      'user',
      `/wiki/rest/api/search/user?${new URLSearchParams({ cql, limit: String(USER_SEARCH_LIMIT) })}`,
    );
    const users: ConfluenceUser[] = [];
    for (const r of res.results ?? []) {
      const u = r.user;
      if (!u?.accountId || u.accountType === 'app') continue;
      users.push({ accountId: u.accountId, displayName: u.displayName || u.publicName || u.accountId, email: u.email ? u.email : null });
    }
    return users.slice(0, USER_SEARCH_LIMIT);
  }

  /**
   * The user's email address: from v1 `user` as the user; when the user hides it, from v1 `user/email` as the app,
   * which Atlassian may refuse (400 app not approved, 403, 501): then null. NOT_FOUND for an unknown account.
   */
  async resolveEmail(auth: AuthContext, accountId: string): Promise<string | null> {
    const user = await this.getJson<V1User>(auth, 'user', `/wiki/rest/api/user?${new URLSearchParams({ accountId })}`, 'No Confluence user has that account id.');
    if (user.email) return user.email;
    return this.appEmail(auth, accountId);
  }

  /** A hidden email address as the app (v1 `user/email`); null where Atlassian does not let the app read it. */
  async appEmail(auth: AuthContext, accountId: string): Promise<string | null> {
    if (!auth.systemToken) return null;
    const res = await this.fetchApi(auth, 'app', `/wiki/rest/api/user/email?${new URLSearchParams({ accountId })}`, { accept: 'application/json' });
    if (res.ok) {
      const body = (await readJson(res)) as { email?: string } | null;
      return body?.email ? body.email : null;
    }
    await res.body?.cancel();
    if (res.status >= 400 && res.status < 500) return null;
    if (res.status === 501) return null;
    throw unavailable(`Confluence answered with status ${res.status}`);
  }

  /** The user's display name and, unless hidden, email (v1 `user`, as the user). NOT_FOUND for an unknown account. */
  async getUser(auth: AuthContext, accountId: string): Promise<ConfluenceUser> {
    const u = await this.getJson<V1User>(auth, 'user', `/wiki/rest/api/user?${new URLSearchParams({ accountId })}`, 'No Confluence user has that account id.');
    return { accountId, displayName: u.displayName || u.publicName || accountId, email: u.email ? u.email : null };
  }

  /** Groups whose name contains `query` (v1 `group/picker`), at most 20, as the user. */
  async searchGroups(auth: AuthContext, query: string): Promise<string[]> {
    const q = query.replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
    if (!q) return [];
    const res = await this.getJson<{ results?: { name?: string }[] }>(auth, 'user', `/wiki/rest/api/group/picker?${new URLSearchParams({ query: q, limit: String(USER_SEARCH_LIMIT) })}`);
    return [...new Set((res.results ?? []).map((g) => g.name).filter((n): n is string => typeof n === 'string' && n.length > 0))].slice(0, USER_SEARCH_LIMIT);
  }

  /**
   * A group's id from its name (v1 `group/by-name`, as the user); null when there is no such group. The member
   * endpoints by name are deprecated in Confluence Cloud: members are read by group id.
   */
  async findGroup(auth: AuthContext, name: string): Promise<{ id: string; name: string } | null> {
    try {
      const g = await this.getJson<{ id?: string; name?: string }>(auth, 'user', `/wiki/rest/api/group/by-name?${new URLSearchParams({ name })}`);
      return typeof g.id === 'string' && g.id ? { id: g.id, name: g.name ?? name } : null;
    } catch (e) {
      if (e instanceof DomainError && e.code === 'NOT_FOUND') return null;
      throw e;
    }
  }

  /** How many members a group has (v1 `group/{id}/membersByGroupId` with `shouldReturnTotalSize`), as the user. */
  async groupMemberCount(auth: AuthContext, groupId: string): Promise<number> {
    const res = await this.getJson<{ size?: number; totalSize?: number }>(
      auth,
      'user',
      `/wiki/rest/api/group/${encodeURIComponent(groupId)}/membersByGroupId?${new URLSearchParams({ start: '0', limit: '1', shouldReturnTotalSize: 'true' })}`,
      'That Confluence group does not exist.',
    );
    return typeof res.totalSize === 'number' ? res.totalSize : (res.size ?? 0);
  }

  /**
   * Every member of a group (v1 `group/{id}/membersByGroupId`, paged with start/limit, at most 200 a page), as the
   * user. `email` is null when the member hides it; app accounts are left out. At most `max` members are read.
   */
  async groupMembers(auth: AuthContext, groupId: string, max: number): Promise<ConfluenceUser[]> {
    const members: ConfluenceUser[] = [];
    const seen = new Set<string>();
    for (let start = 0, page = 0; page < MAX_GROUP_PAGES && members.length < max; page++) {
      const res = await this.getJson<{ results?: V1User[]; size?: number; _links?: { next?: string } }>(
        auth,
        'user',
        `/wiki/rest/api/group/${encodeURIComponent(groupId)}/membersByGroupId?${new URLSearchParams({ start: String(start), limit: String(GROUPS_PAGE) })}`,
        'That Confluence group does not exist.',
      );
      const results = res.results ?? [];
      for (const u of results) {
        if (!u.accountId || u.accountType === 'app' || seen.has(u.accountId)) continue;
        seen.add(u.accountId);
        members.push({ accountId: u.accountId, displayName: u.displayName || u.publicName || u.accountId, email: u.email ? u.email : null });
      }
      if (results.length === 0 || (!res._links?.next && results.length < GROUPS_PAGE)) break;
      start += results.length;
    }
    return members.slice(0, max);
  }

  /**
   * The page as the user sees it, ready for the composer: v2 page with `body-format=export_view`, its space key, and
   * every image that shows an attachment of this site downloaded as the user (so Confluence checks the user may see
   * it) with its `src` rewritten to `cid:<filename>`. Images elsewhere are left for the composer to drop; relative
   * links become absolute against the site. MAIL_TOO_LARGE when the images add up to more than `maxBytes`.
   */
  async getPageForMail(auth: AuthContext, pageId: string, opts: { maxBytes: number }): Promise<PageForMail> {
    checkPageId(pageId);
    const page = await this.getJson<{ id?: string; title?: string; spaceId?: string; body?: { export_view?: { value?: string } }; _links?: { base?: string; webui?: string } }>(
      auth,
      'user',
      `/wiki/api/v2/pages/${pageId}?body-format=export_view`,
      'The page does not exist, or you may not view it.',
    );
    const spaceKey = page.spaceId ? await this.spaceKey(auth, page.spaceId) : '';
    const site = siteBase(page._links?.base, auth.siteUrl);
    const source = page.body?.export_view?.value ?? '';
    const { html, images } = await this.embedImages(auth, source, site, opts.maxBytes);
    const webui = page._links?.webui;
    const pageUrl = site && webui && webui.startsWith('/') ? `${site.href.replace(/\/+$/, '')}${webui}` : null;
    return { id: page.id ?? pageId, title: page.title ?? '', spaceKey, html, images, pageUrl };
  }

  /** The page's attachments (v2, following the cursor of the `Link` header), as the user sees them. */
  async listAttachments(auth: AuthContext, pageId: string): Promise<ConfluenceAttachment[]> {
    checkPageId(pageId);
    const found: ConfluenceAttachment[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const query = new URLSearchParams({ limit: String(ATTACHMENTS_PAGE) });
      if (cursor) query.set('cursor', cursor);
      const res = await this.fetchApi(auth, 'user', `/wiki/api/v2/pages/${pageId}/attachments?${query}`, { accept: 'application/json' });
      const body = await this.jsonOrThrow<V2List<V2Attachment>>(res, 'The page does not exist, or you may not view it.');
      for (const a of body.results ?? []) {
        if (typeof a.id !== 'string' || typeof a.title !== 'string') continue;
        found.push({ id: a.id, filename: a.title, mediaType: a.mediaType || 'application/octet-stream', size: typeof a.fileSize === 'number' ? a.fileSize : 0 });
      }
      // Only the cursor is taken from the link: the next request is built here, never sent to a URL from a response.
      cursor = nextCursor(res.headers.get('link')) ?? cursorOf(body._links?.next);
      if (!cursor) break;
    }
    return found;
  }

  /**
   * One attachment of the page, as the user: metadata from v2 `attachments/{id}` (name, media type, size; it must
   * belong to `pageId`), bytes from v1 `content/{pageId}/child/attachment/{id}/download`, which redirects once to the
   * file. MAIL_TOO_LARGE (413) when it is larger than `maxBytes`, checked before and while streaming.
   */
  async downloadAttachment(auth: AuthContext, pageId: string, attachmentId: string, maxBytes: number): Promise<MailFile> {
    checkPageId(pageId);
    const attId = attachmentIdOf(attachmentId);
    const meta = await this.getJson<V2Attachment>(auth, 'user', `/wiki/api/v2/attachments/${attId}`, 'The attachment does not exist, or you may not view it.');
    if (meta.pageId !== pageId) throw new DomainError('NOT_FOUND', 404, 'The attachment does not belong to this page.', { attachmentId: attId });
    const tooLarge = (size?: number) =>
      new DomainError(
        'MAIL_TOO_LARGE',
        413,
        `An attachment is ${size !== undefined ? `${formatSize(size, 'up')}, ` : ''}over the ${formatSize(Math.max(0, maxBytes), 'down')} still free in this mail; leave it out.`,
        { attachmentId: attId, ...(size !== undefined ? { size } : {}), limit: Math.max(0, maxBytes) },
      );
    if (typeof meta.fileSize === 'number' && meta.fileSize > maxBytes) throw tooLarge(meta.fileSize);
    const budget: Budget = { used: 0, max: maxBytes, tooLarge: () => tooLarge() };
    const { content, contentType } = await this.downloadBytes(auth, pageId, attId, budget);
    return { filename: meta.title || attId, contentType: meta.mediaType || contentType || 'application/octet-stream', content };
  }

  /** Forget cached answers for a tenant (after a permission change, or when a test changes the sandbox). */
  invalidate(tenantId: string): void {
    const forget = (cache: { keys(): IterableIterator<string>; delete(k: string): boolean }) => {
      for (const k of [...cache.keys()]) if (k.startsWith(`${tenantId}:`)) cache.delete(k);
    };
    [this.adminCache, this.spaceAdminCache, this.groupsCache, this.spaceKeyCache].forEach(forget);
  }

  // -------------------------------------------------------------------------------------------------------------

  private async spaceKey(auth: AuthContext, spaceId: string): Promise<string> {
    const key = `${auth.tenantId}:${spaceId}`;
    const cached = this.spaceKeyCache.get(key);
    if (cached) return cached;
    const space = await this.getJson<V2Space>(auth, 'user', `/wiki/api/v2/spaces/${encodeURIComponent(spaceId)}`, 'The space of the page does not exist, or you may not view it.');
    const spaceKey = space.key ?? '';
    if (spaceKey) this.spaceKeyCache.set(key, spaceKey);
    return spaceKey;
  }

  private async embedImages(auth: AuthContext, html: string, site: URL | null, maxBytes: number): Promise<{ html: string; images: MailFile[] }> {
    // Which attachment each <img> shows, deduplicated: the same file shown twice is downloaded once.
    const wanted = new Map<string, ImageRef>();
    for (const tag of findTags(html)) {
      if (tag.tag !== 'img') continue;
      const ref = attachmentImage(tag, site);
      if (ref && !wanted.has(ref.key)) wanted.set(ref.key, ref);
    }

    const budget: Budget = {
      used: 0,
      max: maxBytes,
      tooLarge: () =>
        new DomainError('MAIL_TOO_LARGE', 413, `The page's images add up to more than the mail size limit of ${formatSize(maxBytes, 'down')}; send a page with fewer or smaller images.`, { limit: maxBytes }),
    };
    const byContainer = new Map<string, Promise<ConfluenceAttachment[] | null>>();
    const resolveId = async (ref: ImageRef): Promise<string | null> => {
      if (ref.attachmentId) return ref.attachmentId;
      if (!byContainer.has(ref.containerId)) byContainer.set(ref.containerId, this.listAttachments(auth, ref.containerId).catch(skippable));
      const list = await byContainer.get(ref.containerId)!;
      return list?.find((a) => a.filename === ref.filename)?.id ?? null;
    };

    const refs = [...wanted.values()];
    const files = new Map<string, MailFile>();
    const taken = new Set<string>();
    const fetchOne = async (ref: ImageRef): Promise<void> => {
      const attId = await resolveId(ref);
      if (!attId) return;
      const got = await this.downloadBytes(auth, ref.containerId, attId, budget).catch(skippable);
      if (!got) return;
      files.set(ref.key, { filename: ref.filename, contentType: ref.contentType || got.contentType || 'application/octet-stream', content: got.content });
    };
    for (let i = 0; i < refs.length; i += IMAGE_DOWNLOADS_AT_ONCE) await Promise.all(refs.slice(i, i + IMAGE_DOWNLOADS_AT_ONCE).map(fetchOne));

    // Unique file names in page order, so the composer can tell the images apart.
    const images: MailFile[] = [];
    for (const ref of refs) {
      const file = files.get(ref.key);
      if (!file) continue;
      file.filename = uniqueName(file.filename, taken);
      images.push(file);
    }

    const rewritten = rewriteTags(html, (tag) => {
      const attr = tag.tag === 'img' ? 'src' : 'href';
      const value = tag.attrs.get(attr);
      if (value === undefined) return undefined;
      if (tag.tag === 'img') {
        const ref = attachmentImage(tag, site);
        const file = ref && files.get(ref.key);
        if (file) return { src: `cid:${encodeURIComponent(file.filename)}`, srcset: null };
      }
      if (site && isRelativeUrl(value)) {
        try {
          return { [attr]: new URL(value.trim(), `${site.href.replace(/\/?$/, '/')}`).href };
        } catch {
          return undefined;
        }
      }
      return undefined;
    });
    return { html: rewritten, images };
  }

  /** v1 download: one redirect followed by hand, the bearer forwarded only if it stays on the same origin. */
  private async downloadBytes(auth: AuthContext, pageId: string, attId: string, budget: Budget): Promise<{ content: Buffer; contentType: string | null }> {
    const path = `/wiki/rest/api/content/${pageId}/child/attachment/${attId}/download`;
    const signal = AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS);
    let res = await this.fetchApi(auth, 'user', path, { accept: '*/*' }, signal);
    if (isRedirect(res.status)) {
      const from = new URL(`${apiBase(auth)}${path}`);
      const location = res.headers.get('location');
      await res.body?.cancel();
      let target: URL;
      try {
        target = new URL(location ?? '', from);
      } catch {
        throw unavailable('Confluence redirected the download to an address that is not valid');
      }
      if (!location || !['https:', from.protocol].includes(target.protocol)) throw unavailable('Confluence redirected the download to an address that is not valid');
      // The file host gets its own token in the URL; our bearer must not travel to another origin (RFC 9110 §15.4).
      const headers: Record<string, string> = { accept: '*/*' };
      if (target.origin === from.origin) headers.authorization = `Bearer ${this.token(auth, 'user')}`;
      const timed = this.metrics?.timeConfluence('attachment_file');
      try {
        res = await fetch(target, { headers, redirect: 'manual', signal });
      } catch (e) {
        throw hostError(e);
      } finally {
        timed?.();
      }
      if (isRedirect(res.status)) {
        await res.body?.cancel();
        throw unavailable('Confluence redirected the download more than once');
      }
    }
    if (!res.ok) await this.throwFor(res, 'The attachment does not exist, or you may not view it.');
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && budget.used + declared > budget.max) {
      await res.body?.cancel();
      throw budget.tooLarge();
    }
    const content = await readLimited(res, budget);
    return { content, contentType: res.headers.get('content-type')?.split(';')[0].trim() || null };
  }

  private token(auth: AuthContext, as: CallAs): string {
    // The local-mode admin has no user session; in local mode only, it reads the sandbox as the app.
    const token = as === 'user' ? (auth.userToken ?? (auth.local ? auth.systemToken : null)) : auth.systemToken;
    if (!token) {
      throw new DomainError('UNAUTHENTICATED', 401, as === 'user' ? 'The request carries no Confluence user token (x-forge-oauth-user); open Mailpage from Confluence.' : 'The request carries no Confluence app token (x-forge-oauth-system).');
    }
    return token;
  }

  private async fetchApi(auth: AuthContext, as: CallAs, path: string, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
    const token = this.token(auth, as);
    const timed = this.metrics?.timeConfluence(confluenceEndpoint(path));
    try {
      return await fetch(`${apiBase(auth)}${path}`, {
        headers: { ...headers, authorization: `Bearer ${token}` },
        redirect: 'manual',
        signal: signal ?? AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (e) {
      throw hostError(e);
    } finally {
      timed?.();
    }
  }

  private async getJson<T>(auth: AuthContext, as: CallAs, path: string, notFound = 'Confluence has no such item, or you may not view it.'): Promise<T> {
    return this.jsonOrThrow<T>(await this.fetchApi(auth, as, path, { accept: 'application/json' }), notFound);
  }

  private async jsonOrThrow<T>(res: Response, notFound: string): Promise<T> {
    if (!res.ok) await this.throwFor(res, notFound);
    const body = await readJson(res);
    if (body === null || typeof body !== 'object') throw unavailable('Confluence answered with something that is not JSON');
    return body as T;
  }

  private async throwFor(res: Response, notFound: string): Promise<never> {
    await res.body?.cancel().catch(() => undefined);
    const status = res.status;
    if (status === 401 || status === 403) {
      throw new DomainError('FORBIDDEN', 403, 'Confluence refused the request for this user; the app may need to be re-installed or the user lacks access.', { confluenceStatus: status });
    }
    if (status === 404) throw new DomainError('NOT_FOUND', 404, notFound);
    if (status === 429) throw new DomainError('CONFLUENCE_UNAVAILABLE', 502, 'Confluence is limiting how fast this app may call it; try again in a minute.', { confluenceStatus: status });
    if (isRedirect(status)) throw unavailable('Confluence answered with an unexpected redirect');
    throw unavailable(`Confluence answered with status ${status}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------

interface ImageRef {
  /** Container and attachment (or file name): what makes two <img> the same file. */
  key: string;
  containerId: string;
  attachmentId: string | null;
  filename: string;
  contentType: string | null;
}

const DOWNLOAD_PATH = /^\/wiki\/download\/(?:attachments|thumbnails)\/(\d{1,20})\/([^/]+)$/;
const REST_DOWNLOAD_PATH = /^(?:\/ex\/confluence\/[^/]+)?\/wiki\/rest\/api\/content\/(\d{1,20})\/child\/attachment\/(att\d{1,20})\/download$/;

/** The attachment an `<img>` shows, if it is one of this site's: `/wiki/download/attachments/…` or the REST download. */
function attachmentImage(tag: FoundTag, site: URL | null): ImageRef | null {
  const src = tag.attrs.get('src')?.trim();
  if (!src) return null;
  let url: URL;
  try {
    url = site ? new URL(src, site) : new URL(src);
  } catch {
    return null;
  }
  if (!site || url.origin !== site.origin) return null;
  const contentType = tag.attrs.get('data-linked-resource-content-type') || null;
  const rest = REST_DOWNLOAD_PATH.exec(url.pathname);
  if (rest) return { key: `${rest[1]}/${rest[2]}`, containerId: rest[1], attachmentId: rest[2], filename: tag.attrs.get('data-linked-resource-default-alias') || rest[2], contentType };
  const m = DOWNLOAD_PATH.exec(url.pathname);
  if (!m) return null;
  const containerId = m[1];
  const filename = safeDecode(m[2]);
  // Confluence names the attachment in data attributes; trust them only when they agree with the URL's container.
  const linkedId = tag.attrs.get('data-linked-resource-id');
  const attachmentId =
    tag.attrs.get('data-linked-resource-type') === 'attachment' && tag.attrs.get('data-linked-resource-container-id') === containerId && linkedId && /^\d{1,20}$/.test(linkedId)
      ? `att${linkedId}`
      : null;
  return { key: `${containerId}/${attachmentId ?? `name:${filename}`}`, containerId, attachmentId, filename, contentType };
}

/** The site's origin and `/wiki` path, from the page's `_links.base` (else the site URL of the token). */
function siteBase(base: string | undefined, siteUrl: string | null): URL | null {
  for (const candidate of [base, siteUrl ? `${siteUrl.replace(/\/+$/, '')}/wiki` : undefined]) {
    if (!candidate) continue;
    try {
      const url = new URL(candidate);
      if (url.protocol === 'https:' || url.protocol === 'http:') return url;
    } catch {
      // try the next
    }
  }
  return null;
}

function uniqueName(name: string, taken: Set<string>): string {
  const clean = name.replace(/[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069/\\]/g, '_').trim() || 'image';
  let candidate = clean;
  const dot = clean.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [clean.slice(0, dot), clean.slice(dot)] : [clean, ''];
  for (let n = 2; taken.has(candidate.toLowerCase()); n++) candidate = `${stem}-${n}${ext}`;
  taken.add(candidate.toLowerCase());
  return candidate;
}

/** An image the user may not see (or that is gone) is left out of the mail, not a reason to refuse the send. */
function skippable(e: unknown): null {
  if (e instanceof DomainError && (e.code === 'NOT_FOUND' || e.code === 'FORBIDDEN')) return null;
  throw e;
}

async function readLimited(res: Response, budget: Budget): Promise<Buffer> {
  if (!res.body) return Buffer.alloc(0);
  const reader = res.body.getReader();
  const chunks: Buffer[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      budget.used += value.byteLength;
      if (budget.used > budget.max) {
        await reader.cancel().catch(() => undefined);
        throw budget.tooLarge();
      }
      chunks.push(Buffer.from(value));
    }
  } catch (e) {
    throw e instanceof DomainError ? e : hostError(e);
  }
  return Buffer.concat(chunks);
}

async function readJson(res: Response): Promise<unknown> {
  try {
    return await res.json();
  } catch (e) {
    if (e instanceof SyntaxError) return null;
    throw hostError(e);
  }
}

/** The `cursor` of the `rel="next"` link of a `Link` header (RFC 8288). */
function nextCursor(header: string | null): string | null {
  if (!header) return null;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (m && /(?:^|;)\s*rel\s*=\s*"?next"?\s*(?:;|$)/i.test(m[2])) return cursorOf(m[1]);
  }
  return null;
}

function cursorOf(link: string | undefined): string | null {
  if (!link) return null;
  try {
    return new URL(link, 'https://confluence.invalid').searchParams.get('cursor') || null;
  } catch {
    return null;
  }
}

function checkPageId(pageId: string): void {
  if (!PAGE_ID.test(pageId)) throw badRequest('pageId must be the number of a Confluence page.', { field: 'pageId' });
}

function attachmentIdOf(id: string): string {
  const m = /^(?:att)?(\d{1,20})$/.exec(id);
  if (!m) throw badRequest('An attachment id must look like att123456.', { field: 'attachmentIds' });
  return `att${m[1]}`;
}

function apiBase(auth: AuthContext): string {
  return auth.apiBaseUrl.replace(/\/+$/, '');
}

function isRedirect(status: number): boolean {
  return status >= 300 && status < 400;
}

function unavailable(why: string): DomainError {
  return new DomainError('CONFLUENCE_UNAVAILABLE', 502, `${why}; try again in a moment.`);
}

function hostError(e: unknown): DomainError {
  if (e instanceof DomainError) return e;
  const name = (e as Error)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return new DomainError('CONFLUENCE_UNAVAILABLE', 502, 'Confluence did not answer in time; try again in a moment.');
  return new DomainError('CONFLUENCE_UNAVAILABLE', 502, 'Confluence could not be reached; try again in a moment.');
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
