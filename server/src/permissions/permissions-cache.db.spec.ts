import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { countingNode, createTestDatabase, insertTenant, TestClock, type TestDatabase } from '../../../test/support/database';
import { databaseKinds } from '../../../test/support/server';
import type { AuthContext } from '../auth/auth-context';
import type { Clock } from '../common/clock';
import type { ConfluenceClient } from '../confluence/confluence.client';
import { SETTINGS_CACHE_TTL_MS } from '../settings/row-cache';
import { TenantCaches } from '../tenants/tenant-caches';
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
  let db: TestDatabase;
  let node: { ds: DataSource; statements: string[] };
  let clock: TestClock;
  let caches: TenantCaches;
  let service: PermissionsService;
  let otherNode: PermissionsService;
  let tenant: string;
  let n = 0;
  const reads = (table: string) => node.statements.filter((s) => /^SELECT/i.test(s.trim()) && s.includes(table)).length;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    node = await countingNode(db.ds);
  });
  afterAll(async () => {
    await node?.ds.destroy();
    await db?.close();
  });
  beforeEach(async () => {
    tenant = `tenant-${++n}`;
    await insertTenant(db.ds, tenant);
    clock = new TestClock();
    caches = new TenantCaches();
    service = new PermissionsService(node.ds, confluence, clock as unknown as Clock, caches);
    otherNode = new PermissionsService(db.ds, confluence, clock as unknown as Clock);
    node.statements.length = 0;
  });

  it('reads the site rule and the space rule once for the sends within the TTL', async () => {
    for (let i = 0; i < 5; i++) expect(await service.decide(user(tenant, 'alice'), 'DOCS')).toEqual({ allowed: true });
    expect(reads('global_permissions')).toBe(1);
    expect(reads('space_permissions')).toBe(1);
    expect(node.statements).toHaveLength(2);
  });

  it('applies a site rule saved on this node at the very next send', async () => {
    expect((await service.decide(user(tenant, 'bob'), 'DOCS')).allowed).toBe(true);
    await service.putGlobal(tenant, { enabled: true, allowedGroups: ['writers'], enforceInAllSpaces: false });
    expect(await service.decide(user(tenant, 'bob'), 'DOCS')).toMatchObject({ allowed: false, allowedGroups: ['writers'] });
    await service.putGlobal(tenant, { enabled: false, allowedGroups: [], enforceInAllSpaces: false });
    expect(await service.decide(user(tenant, 'alice'), 'DOCS')).toMatchObject({ allowed: false, reason: 'A site admin has turned off sending pages as mail on this site.' });
  });

  it('applies a space rule saved on this node at the very next send, whatever the case of the key that was read', async () => {
    expect((await service.decide(user(tenant, 'bob'), 'DOCS')).allowed).toBe(true);
    expect((await service.decide(user(tenant, 'bob'), 'docs')).allowed).toBe(true);
    await service.putSpace(user(tenant, 'admin'), 'DOCS', { enabled: false, allowedGroups: [] });
    expect(await service.decide(user(tenant, 'bob'), 'DOCS')).toMatchObject({ allowed: false, reason: expect.stringContaining('space DOCS') });
    // MySQL compares space keys without case, SQLite with: either way the node asks the database again.
    const lower = await service.decide(user(tenant, 'bob'), 'docs');
    expect(lower.allowed).toBe(kind === 'sqlite');
    expect((await service.decide(user(tenant, 'bob'), 'ENG')).allowed).toBe(true);
  });

  it('reads again once the TTL is over, and sees then what another node saved', async () => {
    expect((await service.decide(user(tenant, 'bob'), 'DOCS')).allowed).toBe(true);
    await otherNode.putGlobal(tenant, { enabled: true, allowedGroups: ['writers'], enforceInAllSpaces: false });
    await otherNode.putSpace(user(tenant, 'admin'), 'ENG', { enabled: false, allowedGroups: [] });
    clock.advance(SETTINGS_CACHE_TTL_MS - 1);
    expect((await service.decide(user(tenant, 'bob'), 'DOCS')).allowed).toBe(true);
    clock.advance(2);
    expect(await service.decide(user(tenant, 'bob'), 'DOCS')).toMatchObject({ allowed: false, allowedGroups: ['writers'] });
    expect(await service.decide(user(tenant, 'alice'), 'ENG')).toMatchObject({ allowed: false, reason: expect.stringContaining('space ENG') });
  });

  it('shows the site admin what is saved, never a cached copy', async () => {
    await service.decide(user(tenant, 'alice'), 'DOCS');
    await otherNode.putGlobal(tenant, { enabled: true, allowedGroups: ['writers'], enforceInAllSpaces: true });
    expect(await service.getGlobal(tenant)).toEqual({ enabled: true, allowedGroups: ['writers'], enforceInAllSpaces: true });
    await expect(service.putSpace(user(tenant, 'admin'), 'DOCS', { enabled: false, allowedGroups: [] })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('hands out copies: changing a decision does not change the next one', async () => {
    await service.putGlobal(tenant, { enabled: true, allowedGroups: ['writers'], enforceInAllSpaces: false });
    const first = await service.decide(user(tenant, 'bob'), null);
    if (!first.allowed) first.allowedGroups.push('everyone');
    expect(await service.decide(user(tenant, 'bob'), null)).toMatchObject({ allowed: false, allowedGroups: ['writers'] });
  });

  it('forgets a tenant whose data is deleted on this node', async () => {
    await service.putGlobal(tenant, { enabled: false, allowedGroups: [], enforceInAllSpaces: false });
    expect((await service.decide(user(tenant, 'alice'), 'DOCS')).allowed).toBe(false);
    await new TenantsService(node.ds, clock as unknown as Clock, caches).remove(tenant);
    expect((await service.decide(user(tenant, 'alice'), 'DOCS')).allowed).toBe(true);
  });
});
