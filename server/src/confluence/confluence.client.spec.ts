import PostalMime from 'postal-mime';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { authFor, deadOrigin, startSandbox, type ConfluenceSandbox } from '../../../test/support/sandbox';
import { DomainError } from '../common/domain-error';
import { ComposeService } from '../compose/compose.service';
import { DEMO_ATTACHMENTS, DEMO_USERS } from '../local/sandbox/demo-site';
import { ConfluenceClient } from './confluence.client';

const bytesOf = (id: string) => DEMO_ATTACHMENTS.find((a) => a.id === id)!.content;

async function failure(p: Promise<unknown>): Promise<DomainError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(DomainError);
  return e as DomainError;
}

describe('ConfluenceClient against the sandbox (real HTTP)', () => {
  let sandbox: ConfluenceSandbox;
  let client: ConfluenceClient;

  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(async () => {
    await sandbox?.stop();
  });
  beforeEach(() => {
    // A fresh client per test: no cached answers carry over.
    client = new ConfluenceClient();
    sandbox.clearRequests();
    sandbox.v1PageLimit = 200;
    sandbox.v2PageLimit = 250;
    sandbox.emailApi = 'approved';
    sandbox.downloadRedirect = 'media';
    sandbox.omitContentLength = false;
  });

  describe('groups', () => {
    it("lists a user's groups, asked as the app", async () => {
      expect((await client.getGroups(authFor(sandbox, 'alice'))).sort()).toEqual(['confluence-users', 'writers']);
      expect(sandbox.requests.map((r) => [r.path, r.as])).toEqual([['/wiki/rest/api/user/memberof', 'app']]);
    });

    it('asks as the user when the request has no app token, and can ask about someone else', async () => {
      expect((await client.getGroups(authFor(sandbox, 'alice', { systemToken: null }), 'dave')).sort()).toEqual(['confluence-users', 'marketing']);
      expect(sandbox.requests.map((r) => r.as)).toEqual(['user']);
    });

    it('falls back to asking as the user when Confluence refuses the app', async () => {
      expect((await client.getGroups(authFor(sandbox, 'alice', { systemToken: 'sba_revoked' }))).sort()).toEqual(['confluence-users', 'writers']);
      expect(sandbox.requests.map((r) => r.as)).toEqual(['invalid', 'user']);
    });

    it('follows start/limit paging to the last group', async () => {
      sandbox.v1PageLimit = 2;
      sandbox.addUser({ accountId: 'many', displayName: 'Many Groups', groups: ['g1', 'g2', 'g3', 'g4', 'g5'] });
      expect((await client.getGroups(authFor(sandbox, 'many'))).sort()).toEqual(['g1', 'g2', 'g3', 'g4', 'g5']);
      expect(sandbox.requests.map((r) => new URLSearchParams(r.query).get('start'))).toEqual(['0', '2', '4']);
    });

    it('caches for a minute and forgets on invalidate(tenant)', async () => {
      sandbox.addUser({ accountId: 'mover', displayName: 'Mo Ver', groups: ['confluence-users'] });
      const auth = authFor(sandbox, 'mover');
      expect(await client.getGroups(auth)).toEqual(['confluence-users']);
      sandbox.setGroupMembers('marketing', ['dave', 'mover']);
      expect(await client.getGroups(auth)).toEqual(['confluence-users']);
      expect(sandbox.requests).toHaveLength(1);
      client.invalidate(auth.tenantId);
      expect((await client.getGroups(auth)).sort()).toEqual(['confluence-users', 'marketing']);
      sandbox.setGroupMembers('marketing', ['dave']);
    });

    it('says NOT_FOUND for an account Confluence does not know', async () => {
      const e = await failure(client.getGroups(authFor(sandbox, 'alice'), 'nobody'));
      expect([e.code, e.status]).toEqual(['NOT_FOUND', 404]);
    });
  });

  describe('group members', () => {
    it('finds a group by name, and says null for one that does not exist', async () => {
      const auth = authFor(sandbox, 'alice');
      expect(await client.findGroup(auth, 'writers')).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), name: 'writers' });
      expect(await client.findGroup(auth, 'nobody-has-this')).toBeNull();
      expect(sandbox.requests.every((r) => r.as === 'user')).toBe(true);
    });

    it('reads every member across pages of 200, by group id, with hidden addresses as null', async () => {
      const ids = Array.from({ length: 250 }, (_, i) => `m${String(i).padStart(3, '0')}`);
      for (const id of ids) sandbox.addUser({ accountId: id, displayName: `Member ${id}`, email: id === 'm007' ? null : undefined });
      sandbox.setGroupMembers('big-team', ids);
      const auth = authFor(sandbox, 'alice');
      const group = (await client.findGroup(auth, 'big-team'))!;
      sandbox.clearRequests();
      const members = await client.groupMembers(auth, group.id, 10_000);
      expect(members.map((m) => m.accountId)).toEqual(ids);
      expect(members.find((m) => m.accountId === 'm007')?.email).toBeNull();
      expect(members.find((m) => m.accountId === 'm008')?.email).toBe('m008@example.com');
      const pages = sandbox.requests.filter((r) => r.path.endsWith('/membersByGroupId'));
      expect(pages.map((r) => new URLSearchParams(r.query).get('start'))).toEqual(['0', '200']);
      expect(await client.groupMemberCount(auth, group.id)).toBe(250);
      // Reading stops at the most a send may hold.
      expect(await client.groupMembers(auth, group.id, 120)).toHaveLength(120);
    });

    it('searches groups by part of the name', async () => {
      expect(await client.searchGroups(authFor(sandbox, 'alice'), 'WRIT')).toEqual(['writers']);
    });
  });

  describe('space admin', () => {
    it.each([
      ['alice', 'DOCS', true],
      ['alice', 'ENG', false],
      ['bob', 'ENG', true],
      ['bob', 'DOCS', false],
      ['carol', 'DOCS', false],
      ['alice', 'NOPE', false],
    ])('%s administers %s: %s', async (who, key, expected) => {
      expect(await client.isSpaceAdmin(authFor(sandbox, who), key)).toBe(expected);
    });

    it('asks as the user: the space by key, then its operations', async () => {
      await client.isSpaceAdmin(authFor(sandbox, 'alice'), 'DOCS');
      expect(sandbox.requests.map((r) => [r.path, r.as])).toEqual([
        ['/wiki/api/v2/spaces', 'user'],
        ['/wiki/api/v2/spaces/163841/operations', 'user'],
      ]);
      expect(new URLSearchParams(sandbox.requests[0].query).get('keys')).toBe('DOCS');
    });

    it('follows a change of space admins (through a group) after invalidate', async () => {
      const auth = authFor(sandbox, 'dave');
      expect(await client.isSpaceAdmin(auth, 'ENG')).toBe(false);
      sandbox.setSpaceAdmins('ENG', { users: ['bob'], groups: ['marketing'] });
      expect(await client.isSpaceAdmin(auth, 'ENG')).toBe(false); // cached
      client.invalidate(auth.tenantId);
      expect(await client.isSpaceAdmin(auth, 'ENG')).toBe(true);
      sandbox.setSpaceAdmins('ENG', { users: ['bob'] });
    });

    it('is no admin of a space the user cannot see', async () => {
      sandbox.setSpaceViewers('ENG', { users: ['bob'] });
      try {
        expect(await client.isSpaceAdmin(authFor(sandbox, 'alice'), 'ENG')).toBe(false);
        expect(await client.isSpaceAdmin(authFor(sandbox, 'bob'), 'ENG')).toBe(true);
      } finally {
        sandbox.setSpaceViewers('ENG', { groups: ['confluence-users'] });
      }
    });
  });

  describe('users and their email addresses', () => {
    it('finds users by name; a hidden email is null, then resolved as the app', async () => {
      const auth = authFor(sandbox, 'alice');
      expect(await client.searchUsers(auth, 'carol')).toEqual([{ accountId: 'carol', displayName: 'Carol Hidden', email: null }]);
      expect(await client.searchUsers(auth, 'alice')).toEqual([{ accountId: 'alice', displayName: 'Alice Writer', email: 'alice@example.com' }]);
      sandbox.clearRequests();
      expect(await client.resolveEmail(auth, 'carol')).toBe('carol@example.com');
      expect(sandbox.requests.map((r) => [r.path, r.as])).toEqual([
        ['/wiki/rest/api/user', 'user'],
        ['/wiki/rest/api/user/email', 'app'],
      ]);
    });

    it('reads a visible email as the user only', async () => {
      expect(await client.resolveEmail(authFor(sandbox, 'alice'), 'bob')).toBe('bob@example.com');
      expect(sandbox.requests.map((r) => r.path)).toEqual(['/wiki/rest/api/user']);
    });

    it.each(['not-approved', 'unavailable'] as const)('gives null when the email API is %s', async (mode) => {
      sandbox.emailApi = mode;
      expect(await client.resolveEmail(authFor(sandbox, 'alice'), 'carol')).toBeNull();
    });

    it('gives null for a hidden email when there is no app token', async () => {
      expect(await client.resolveEmail(authFor(sandbox, 'alice', { systemToken: null }), 'carol')).toBeNull();
    });

    it('says NOT_FOUND for an unknown account id', async () => {
      expect((await failure(client.resolveEmail(authFor(sandbox, 'alice'), 'nobody'))).code).toBe('NOT_FOUND');
    });

    it('escapes quotes and backslashes in the CQL, so a name with them is still found', async () => {
      sandbox.addUser({ accountId: 'eve', displayName: 'Eve "Q" Back\\slash' });
      const found = await client.searchUsers(authFor(sandbox, 'alice'), '"Q" Back\\slash');
      expect(found.map((u) => u.accountId)).toEqual(['eve']);
      expect(new URLSearchParams(sandbox.requests[0].query).get('cql')).toBe('user.fullname~"\\"Q\\" Back\\\\slash"');
      expect(new URLSearchParams(sandbox.requests[0].query).get('limit')).toBe('20');
    });

    it('returns at most 20 users and nothing for a blank query', async () => {
      for (let i = 0; i < 25; i++) sandbox.addUser({ accountId: `twin-${i}`, displayName: `Twin ${i}` });
      expect(await client.searchUsers(authFor(sandbox, 'alice'), 'twin')).toHaveLength(20);
      sandbox.clearRequests();
      expect(await client.searchUsers(authFor(sandbox, 'alice'), '  \n ')).toEqual([]);
      expect(sandbox.requests).toHaveLength(0);
    });
  });

  describe('the page for a mail', () => {
    it('downloads this site’s images as the user and points the HTML at them by cid', async () => {
      const page = await client.getPageForMail(authFor(sandbox, 'alice'), '163845', { maxBytes: 1024 * 1024 });
      expect([page.id, page.title, page.spaceKey]).toEqual(['163845', 'Getting started', 'DOCS']);
      expect(page.images.map((i) => [i.filename, i.contentType])).toEqual([
        ['architecture.png', 'image/png'],
        ['logo.png', 'image/png'],
      ]);
      expect(page.images[0].content.equals(bytesOf('att163846'))).toBe(true);
      expect(page.images[1].content.equals(bytesOf('att163847'))).toBe(true);
      expect(page.html).toContain('src="cid:architecture.png"');
      expect(page.html.match(/src="cid:logo\.png"/g)).toHaveLength(2);
      // An external image is left as it is, for the composer to drop; a relative link becomes absolute.
      expect(page.html).toContain('src="https://images.example.com/badge.png"');
      expect(page.html).toContain(`href="${sandbox.origin}/wiki/spaces/DOCS/pages/163850/Release+notes"`);
      expect(page.html).not.toContain(` src="${sandbox.origin}`);

      // The logo shown twice is fetched once; every Confluence call as the user, the file host without our bearer.
      const downloads = sandbox.requests.filter((r) => r.path.endsWith('/download'));
      expect(downloads.map((r) => [r.path, r.as])).toEqual([
        ['/wiki/rest/api/content/163845/child/attachment/att163846/download', 'user'],
        ['/wiki/rest/api/content/163845/child/attachment/att163847/download', 'user'],
      ]);
      expect(sandbox.requests.filter((r) => r.host === 'api').every((r) => r.as === 'user' && r.accountId === 'alice')).toBe(true);
      expect(sandbox.requests.filter((r) => r.host === 'media').map((r) => r.as)).toEqual(['none', 'none']);
    });

    it('gives the composer what it needs: the mail carries both images inline, byte for byte', async () => {
      const page = await client.getPageForMail(authFor(sandbox, 'alice'), '163845', { maxBytes: 1024 * 1024 });
      const mail = await new ComposeService().compose({
        title: page.title,
        html: page.html,
        subjectPrefix: '',
        from: { address: 'mailpage@example.com' },
        to: [{ address: 'bob@example.com' }],
        cc: [],
        images: page.images,
        attachments: [],
        messageIdDomain: 'example.com',
        maxBytes: 1024 * 1024,
      });
      const parsed = await PostalMime.parse(mail.raw);
      const inline = parsed.attachments.filter((a) => a.disposition === 'inline');
      expect(inline.map((a) => a.filename).sort()).toEqual(['architecture.png', 'logo.png']);
      const logo = inline.find((a) => a.filename === 'logo.png')!;
      expect(Buffer.from(logo.content as ArrayBuffer).equals(bytesOf('att163847'))).toBe(true);
      expect(parsed.html).not.toContain('images.example.com');
    });

    it('refuses with MAIL_TOO_LARGE when the images add up to more than the limit, even without Content-Length', async () => {
      const total = bytesOf('att163846').length + bytesOf('att163847').length;
      for (const omit of [false, true]) {
        sandbox.omitContentLength = omit;
        const e = await failure(client.getPageForMail(authFor(sandbox, 'alice'), '163845', { maxBytes: total - 1 }));
        expect([e.code, e.status]).toEqual(['MAIL_TOO_LARGE', 413]);
      }
      sandbox.omitContentLength = false;
      expect((await client.getPageForMail(authFor(sandbox, 'alice'), '163845', { maxBytes: total })).images).toHaveLength(2);
    });

    it('shows a restricted page only to who may see it', async () => {
      expect((await failure(client.getPageForMail(authFor(sandbox, 'alice'), '196620', { maxBytes: 1e6 }))).code).toBe('NOT_FOUND');
      const page = await client.getPageForMail(authFor(sandbox, 'bob'), '196620', { maxBytes: 1e6 });
      expect([page.title, page.spaceKey]).toEqual(['Secret plans', 'ENG']);
    });

    it('refuses a page id that is not a number before calling Confluence', async () => {
      expect((await failure(client.getPageForMail(authFor(sandbox, 'alice'), '../admin', { maxBytes: 1e6 }))).code).toBe('VALIDATION_FAILED');
      expect(sandbox.requests).toHaveLength(0);
    });
  });

  describe('attachments', () => {
    it('lists them across two pages of results, following the cursor', async () => {
      sandbox.v2PageLimit = 3;
      const list = await client.listAttachments(authFor(sandbox, 'alice'), '163845');
      expect(list.map((a) => a.id)).toEqual(['att163846', 'att163847', 'att163848', 'att163849']);
      expect(list[2]).toEqual({ id: 'att163848', filename: 'handbook.pdf', mediaType: 'application/pdf', size: bytesOf('att163848').length });
      expect(sandbox.requests.map((r) => [r.path, new URLSearchParams(r.query).has('cursor')])).toEqual([
        ['/wiki/api/v2/pages/163845/attachments', false],
        ['/wiki/api/v2/pages/163845/attachments', true],
      ]);
    });

    it('downloads one within the limit: bytes, name and media type, the redirect followed without our bearer', async () => {
      const file = await client.downloadAttachment(authFor(sandbox, 'alice'), '163845', 'att163848', 1024 * 1024);
      expect([file.filename, file.contentType]).toEqual(['handbook.pdf', 'application/pdf']);
      expect(file.content.equals(bytesOf('att163848'))).toBe(true);
      expect(file.content.subarray(0, 5).toString()).toBe('%PDF-');
      expect(sandbox.requests.map((r) => [r.host, r.as])).toEqual([
        ['api', 'user'],
        ['api', 'user'],
        ['media', 'none'],
      ]);
    });

    it('forwards the bearer when the redirect stays on the same origin', async () => {
      sandbox.downloadRedirect = 'same-origin';
      const file = await client.downloadAttachment(authFor(sandbox, 'alice'), '163845', 'att163849', 1024);
      expect(file.content.toString()).toContain('Release checklist');
      expect(sandbox.requests.at(-1)).toMatchObject({ host: 'api', path: '/wiki/download/attachments/163845/checklist.txt', as: 'user' });
    });

    it('refuses one over the limit with MAIL_TOO_LARGE before downloading it', async () => {
      const size = bytesOf('att163848').length;
      const e = await failure(client.downloadAttachment(authFor(sandbox, 'alice'), '163845', 'att163848', size - 1));
      expect([e.code, e.status, e.details?.size]).toEqual(['MAIL_TOO_LARGE', 413, size]);
      expect(sandbox.requests.some((r) => r.path.endsWith('/download') || r.host === 'media')).toBe(false);
    });

    it('says NOT_FOUND for an attachment of another page or of a page the user may not see', async () => {
      expect((await failure(client.downloadAttachment(authFor(sandbox, 'alice'), '163845', 'att196614', 1e6))).code).toBe('NOT_FOUND');
      expect((await failure(client.downloadAttachment(authFor(sandbox, 'alice'), '196620', 'att196621', 1e6))).code).toBe('NOT_FOUND');
      expect((await client.downloadAttachment(authFor(sandbox, 'bob'), '196620', 'att196621', 1e6)).content.toString()).toContain('Only Bob');
    });
  });

  describe('tokens and host failures', () => {
    it('the sandbox answers 401 to a call without a bearer, like the API gateway', async () => {
      const res = await fetch(`${sandbox.apiBaseUrl}/wiki/api/v2/pages/163845?body-format=export_view`);
      expect(res.status).toBe(401);
      expect(sandbox.requests.at(-1)).toMatchObject({ as: 'none', path: '/wiki/api/v2/pages/163845' });
    });

    it('turns a refused token into FORBIDDEN (403)', async () => {
      const e = await failure(client.getGroups(authFor(sandbox, 'alice', { userToken: 'sbu_forged', systemToken: null })));
      expect([e.code, e.status]).toEqual(['FORBIDDEN', 403]);
      expect(sandbox.requests.at(-1)?.as).toBe('invalid');
    });

    it('refuses to call as the user without a user token', async () => {
      expect((await failure(client.searchUsers(authFor(sandbox, 'alice', { userToken: null }), 'bob'))).code).toBe('UNAUTHENTICATED');
    });

    it('turns a host that is down into CONFLUENCE_UNAVAILABLE (502)', async () => {
      const auth = authFor(sandbox, 'alice', { apiBaseUrl: `${await deadOrigin()}/ex/confluence/x` });
      for (const call of [client.getGroups(auth), client.isSpaceAdmin(auth, 'DOCS'), client.getPageForMail(auth, '163845', { maxBytes: 1e6 })]) {
        const e = await failure(call);
        expect([e.code, e.status]).toEqual(['CONFLUENCE_UNAVAILABLE', 502]);
        expect(e.message).toMatch(/could not be reached/);
      }
    });

    it('never writes a token into the request log', async () => {
      const auth = authFor(sandbox, 'alice');
      await client.getPageForMail(auth, '163845', { maxBytes: 1e6 });
      const log = JSON.stringify(sandbox.requests);
      expect(log).not.toContain(auth.userToken!);
      expect(log).not.toContain(auth.systemToken!);
    });
  });

  it('keeps the demo users, with carol hiding her email', () => {
    expect(DEMO_USERS.map((u) => u.accountId)).toEqual(expect.arrayContaining(['sandbox-admin', 'alice', 'bob', 'carol']));
    expect(sandbox.users.get('carol')?.email).toBeNull();
  });
});
