import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfluenceSandbox } from './confluence-sandbox';
import { DEMO_ATTACHMENTS, DEMO_PAGES, DEMO_SPACES, makePng } from './demo-site';

describe('Confluence sandbox', () => {
  let sandbox: ConfluenceSandbox;
  let alice: string;
  let bob: string;
  let app: string;

  beforeAll(async () => {
    sandbox = await new ConfluenceSandbox().start();
    alice = sandbox.issueUserToken('alice');
    bob = sandbox.issueUserToken('bob');
    app = sandbox.issueAppToken();
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  const get = async (path: string, token?: string) => {
    const res = await fetch(`${sandbox.apiBaseUrl}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {}, redirect: 'manual' });
    const text = await res.text();
    let body: any = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* bytes */
    }
    return { status: res.status, headers: res.headers, body };
  };

  it('refuses to exist in production', () => {
    const before = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      expect(() => new ConfluenceSandbox()).toThrow(/local mode and tests only/);
    } finally {
      process.env.NODE_ENV = before;
    }
  });

  it('listens on 127.0.0.1 only, the API and the media host', () => {
    expect(sandbox.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sandbox.mediaOrigin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sandbox.mediaOrigin).not.toBe(sandbox.origin);
  });

  it('answers 401 without a bearer and with one it never issued', async () => {
    expect((await get('/wiki/rest/api/user/current')).status).toBe(401);
    expect((await get('/wiki/rest/api/user/current', 'sbu_made_up')).status).toBe(401);
  });

  it('pages v2 lists with a cursor in _links.next and in the Link header', async () => {
    sandbox.v2PageLimit = 3;
    try {
      const first = await get('/wiki/api/v2/pages/163845/attachments', alice);
      expect(first.status).toBe(200);
      expect(first.body.results).toHaveLength(3);
      expect(first.body._links.base).toBe(`${sandbox.origin}/wiki`);
      expect(first.body._links.next).toMatch(/^\/wiki\/api\/v2\/pages\/163845\/attachments\?.*cursor=/);
      expect(first.headers.get('link')).toBe(`<${first.body._links.next}>; rel="next", <${sandbox.origin}/wiki>; rel="base"`);
      const second = await get(first.body._links.next, alice);
      expect(second.body.results.map((a: { id: string }) => a.id)).toEqual(['att163849']);
      expect(second.body._links.next).toBeUndefined();
      expect(second.headers.get('link')).toBeNull();
      expect(first.body.results[0]).toMatchObject({ id: 'att163846', status: 'current', title: 'architecture.png', pageId: '163845', mediaType: 'image/png', fileSize: expect.any(Number) });
    } finally {
      sandbox.v2PageLimit = 250;
    }
  });

  it('pages v1 lists with start, limit and size', async () => {
    sandbox.v1PageLimit = 1;
    try {
      const r = await get('/wiki/rest/api/user/memberof?accountId=alice&start=1&limit=5', app);
      expect(r.body).toMatchObject({ start: 1, limit: 1, size: 1, results: [{ type: 'group', name: 'writers' }] });
      expect(r.body._links.next).toBeUndefined();
    } finally {
      sandbox.v1PageLimit = 200;
    }
  });

  it('gives the page body in export view with _links.base, and hides a restricted page (404) from others', async () => {
    const page = await get('/wiki/api/v2/pages/163845?body-format=export_view', alice);
    expect(page.body).toMatchObject({ id: '163845', title: 'Getting started', spaceId: '163841', body: { export_view: { representation: 'export_view' } }, _links: { base: `${sandbox.origin}/wiki` } });
    expect(page.body.body.export_view.value).toContain('data-linked-resource-container-id="163845"');
    expect((await get('/wiki/api/v2/pages/196620?body-format=export_view', alice)).status).toBe(404);
    expect((await get('/wiki/api/v2/pages/196620?body-format=export_view', bob)).status).toBe(200);
  });

  it('lists space operations, with administer only for a space admin', async () => {
    const ops = async (token: string, id: string) => (await get(`/wiki/api/v2/spaces/${id}/operations`, token)).body.operations as { operation: string; targetType: string }[];
    expect(await ops(alice, '163841')).toContainEqual({ operation: 'administer', targetType: 'space' });
    expect(await ops(alice, '196609')).not.toContainEqual({ operation: 'administer', targetType: 'space' });
  });

  it('answers the email endpoint for the app token only', async () => {
    expect((await get('/wiki/rest/api/user/email?accountId=carol', alice)).status).toBe(403);
    expect((await get('/wiki/rest/api/user/email?accountId=carol', app)).body).toEqual({ accountId: 'carol', email: 'carol@example.com' });
    expect((await get('/wiki/rest/api/user?accountId=carol', alice)).body.email).toBe('');
  });

  it('redirects a download to the media host, which refuses a forwarded bearer', async () => {
    const r = await get('/wiki/rest/api/content/163845/child/attachment/att163849/download', alice);
    expect(r.status).toBe(302);
    const location = r.headers.get('location')!;
    expect(location.startsWith(`${sandbox.mediaOrigin}/file/`)).toBe(true);
    expect((await fetch(location, { headers: { authorization: `Bearer ${alice}` } })).status).toBe(401);
    const ok = await fetch(location);
    expect(Buffer.from(await ok.arrayBuffer()).toString()).toContain('Release checklist');
  });

  it('lets tests build permission matrices: users, groups, space admins', async () => {
    sandbox.addUser({ accountId: 'zed', displayName: 'Zed New', groups: ['confluence-users'] });
    sandbox.setGroupMembers('reviewers', ['zed', 'alice']);
    expect(sandbox.users.get('zed')!.groups).toEqual(['confluence-users', 'reviewers']);
    sandbox.setGroupMembers('reviewers', ['zed']);
    expect(sandbox.users.get('alice')!.groups).not.toContain('reviewers');
    expect(() => sandbox.setGroupMembers('reviewers', ['ghost'])).toThrow(/no user ghost/);
    expect(sandbox.spaceSummaries().map((s) => s.key)).toEqual(['DOCS', 'ENG']);
  });

  it('serves real PNGs and attachments whose bytes agree with the v2 metadata', () => {
    const png = makePng(2, 1, (x) => (x ? [255, 0, 0] : [0, 0, 255]));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    const idat = png.indexOf('IDAT');
    const length = png.readUInt32BE(idat - 4);
    expect([...inflateSync(png.subarray(idat + 4, idat + 4 + length))]).toEqual([0, 0, 0, 255, 255, 0, 0]);
    for (const a of DEMO_ATTACHMENTS) expect(DEMO_PAGES.some((p) => p.id === a.pageId)).toBe(true);
    for (const p of DEMO_PAGES) expect(DEMO_SPACES.some((s) => s.id === p.spaceId)).toBe(true);
  });
});
