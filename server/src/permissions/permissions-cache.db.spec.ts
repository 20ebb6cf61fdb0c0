import { describe, expect, it } from 'vitest';
import { useCachingNode } from '../../../test/support/database';
import { databaseKinds } from '../../../test/support/server';
import type { AuthContext } from '../auth/auth-context';
import type { Clock } from '../common/clock';
import type { ConfluenceClient } from '../confluence/confluence.client';
import { SETTINGS_CACHE_TTL_MS } from '../settings/row-cache';
import { TenantsService } from '../tenants/tenants.service';
import { PermissionsService } from './permissions.service';

/** Confluence as the sandbox answers it: alice is in "writers", everyone may administer spaces in this test. */
const confluence = {
  getGroups: async (auth: AuthContext) => (auth.accountId === 'alice' ? ['writers'] : []),
  isSiteAdmin: async () => true,
  isSpaceAdmin: async () => true,
} as unknown as ConfluenceClient;

const user = (tenantId: string, accountId: string): AuthContext => ({
  tenantId,
  accountId,
  apiBaseUrl: 'https://api.atlassian.com/ex/confluence/x',
  local: false,
  userToken: 'u',
  systemToken: 's',
  contentId: null,
  spaceKey: null,
  siteUrl: null,
});

describe.each(databaseKinds())('who may send, read per send and cached on the node, on %s', (kind) => {
  const t = useCachingNode(kind, ({ db, node, clock, caches }) => ({
    service: new PermissionsService(node.ds, confluence, clock as unknown as Clock, caches),
    otherNode: new PermissionsService(db.ds, confluence, clock as unknown as Clock),
  }));
  const reads = (table: string) => t.node.statements.filter((s) => /^SELECT/i.test(s.trim()) && s.includes(table)).length;

  it('reads the site rule and the space rule once for the sends within the TTL', async () => {
    for (let i = 0; i < 5; i++) expect(await t.service.decide(user(t.tenant, 'alice'), 'DOCS')).toEqual({ allowed: true });
    expect(reads('global_permissions')).toBe(1);
    expect(reads('space_permissions')).toBe(1);
    expect(t.node.statements).toHaveLength(2);
  });

  it('applies a site rule saved on this node at the very next send', async () => {
    expect((await t.service.decide(user(t.tenant, 'bob'), 'DOCS')).allowed).toBe(true);
    await t.service.putGlobal(t.tenant, { enabled: true, allowedGroups: ['writers'], enforceInAllSpaces: false });
    expect(await t.service.decide(user(t.tenant, 'bob'), 'DOCS')).toMatchObject({ allowed: false, allowedGroups: ['writers'] });
    await t.service.putGlobal(t.tenant, { enabled: false, allowedGroups: [], enforceInAllSpaces: false });
    expect(await t.service.decide(user(t.tenant, 'alice'), 'DOCS')).toMatchObject({ allowed: false, reason: 'A site admin has turned off sending pages as mail on this site.' });
  });

  it('applies a space rule saved on this node at the very next send, whatever the case of the key that was read', async () => {
    expect((await t.service.decide(user(t.tenant, 'bob'), 'DOCS')).allowed).toBe(true);
    expect((await t.service.decide(user(t.tenant, 'bob'), 'docs')).allowed).toBe(true);
    await t.service.putSpace(user(t.tenant, 'admin'), 'DOCS', { enabled: false, allowedGroups: [] });
    expect(await t.service.decide(user(t.tenant, 'bob'), 'DOCS')).toMatchObject({ allowed: false, reason: expect.stringContaining('space DOCS') });
    // MySQL compares space keys without case, SQLite with: either way the node asks the database again.
    const lower = await t.service.decide(user(t.tenant, 'bob'), 'docs');
    expect(lower.allowed).toBe(kind === 'sqlite');
    expect((await t.service.decide(user(t.tenant, 'bob'), 'ENG')).allowed).toBe(true);
  });

  it('reads again once the TTL is over, and sees then what another node saved', async () => {
    expect((await t.service.decide(user(t.tenant, 'bob'), 'DOCS')).allowed).toBe(true);
    await t.otherNode.putGlobal(t.tenant, { enabled: true, allowedGroups: ['writers'], enforceInAllSpaces: false });
    await t.otherNode.putSpace(user(t.tenant, 'admin'), 'ENG', { enabled: false, allowedGroups: [] });
    t.clock.advance(SETTINGS_CACHE_TTL_MS - 1);
    expect((await t.service.decide(user(t.tenant, 'bob'), 'DOCS')).allowed).toBe(true);
    t.clock.advance(2);
    expect(await t.service.decide(user(t.tenant, 'bob'), 'DOCS')).toMatchObject({ allowed: false, allowedGroups: ['writers'] });
    expect(await t.service.decide(user(t.tenant, 'alice'), 'ENG')).toMatchObject({ allowed: false, reason: expect.stringContaining('space ENG') });
  });

  it('shows the site admin what is saved, never a cached copy', async () => {
    await t.service.decide(user(t.tenant, 'alice'), 'DOCS');
    await t.otherNode.putGlobal(t.tenant, { enabled: true, allowedGroups: ['writers'], enforceInAllSpaces: true });
    expect(await t.service.getGlobal(t.tenant)).toEqual({ enabled: true, allowedGroups: ['writers'], enforceInAllSpaces: true });
    await expect(t.service.putSpace(user(t.tenant, 'admin'), 'DOCS', { enabled: false, allowedGroups: [] })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('hands out copies: changing a decision does not change the next one', async () => {
    await t.service.putGlobal(t.tenant, { enabled: true, allowedGroups: ['writers'], enforceInAllSpaces: false });
    const first = await t.service.decide(user(t.tenant, 'bob'), null);
    if (!first.allowed) first.allowedGroups.push('everyone');
    expect(await t.service.decide(user(t.tenant, 'bob'), null)).toMatchObject({ allowed: false, allowedGroups: ['writers'] });
  });

  it('forgets a tenant whose data is deleted on this node', async () => {
    await t.service.putGlobal(t.tenant, { enabled: false, allowedGroups: [], enforceInAllSpaces: false });
    expect((await t.service.decide(user(t.tenant, 'alice'), 'DOCS')).allowed).toBe(false);
    await new TenantsService(t.node.ds, t.clock as unknown as Clock, t.caches).remove(t.tenant);
    expect((await t.service.decide(user(t.tenant, 'alice'), 'DOCS')).allowed).toBe(true);
  });
});
