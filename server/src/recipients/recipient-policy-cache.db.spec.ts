import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { recipientPolicySchema } from '@mailpage/contract';
import { countingNode, createTestDatabase, insertTenant, TestClock, type TestDatabase } from '../../../test/support/database';
import { databaseKinds } from '../../../test/support/server';
import type { Clock } from '../common/clock';
import { SETTINGS_CACHE_TTL_MS } from '../settings/row-cache';
import { TenantCaches } from '../tenants/tenant-caches';
import { TenantsService } from '../tenants/tenants.service';
import { RecipientPolicyService } from './recipient-policy.service';

const rules = (allowedDomains: string[], blockedDomains: string[] = []) => recipientPolicySchema.parse({ allowedDomains, blockedDomains });
const ANY = { allowedDomains: [], blockedDomains: [] };

describe.each(databaseKinds())('recipient rules read per send, cached on the node, on %s', (kind) => {
  let db: TestDatabase;
  let node: { ds: DataSource; statements: string[] };
  let clock: TestClock;
  let caches: TenantCaches;
  let service: RecipientPolicyService;
  let otherNode: RecipientPolicyService;
  let tenant: string;
  let n = 0;
  const reads = () => node.statements.filter((s) => /^SELECT/i.test(s.trim()) && s.includes('recipient_polic')).length;

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
    service = new RecipientPolicyService(node.ds, clock as unknown as Clock, caches);
    otherNode = new RecipientPolicyService(db.ds, clock as unknown as Clock);
    node.statements.length = 0;
  });

  it('reads the rules once for the sends within the TTL, a site without rules too', async () => {
    for (let i = 0; i < 5; i++) expect(await service.rules(tenant)).toEqual(ANY);
    expect(reads()).toBe(1);
    expect(node.statements).toHaveLength(1);
  });

  it('applies rules saved on this node at the very next send', async () => {
    expect(await service.rules(tenant)).toEqual(ANY);
    await service.save(tenant, rules(['example.com']));
    expect(await service.rules(tenant)).toEqual({ allowedDomains: ['example.com'], blockedDomains: [] });
    await service.save(tenant, rules([], ['old.example.com']));
    expect(await service.rules(tenant)).toEqual({ allowedDomains: [], blockedDomains: ['old.example.com'] });
  });

  it('reads again once the TTL is over, and sees then what another node saved', async () => {
    expect(await service.rules(tenant)).toEqual(ANY);
    await otherNode.save(tenant, rules(['example.com']));
    clock.advance(SETTINGS_CACHE_TTL_MS - 1);
    expect(await service.rules(tenant)).toEqual(ANY);
    clock.advance(2);
    expect(await service.rules(tenant)).toEqual({ allowedDomains: ['example.com'], blockedDomains: [] });
    expect(reads()).toBe(2);
  });

  it('shows the site admin what is saved, never a cached copy', async () => {
    await service.rules(tenant);
    await otherNode.save(tenant, rules(['example.com']));
    expect(await service.view(tenant)).toMatchObject({ allowedDomains: ['example.com'] });
  });

  it('hands out copies: changing the rules a send got does not change the next send’s', async () => {
    await service.save(tenant, rules(['example.com']));
    const first = await service.rules(tenant);
    first.allowedDomains.push('evil.example');
    first.blockedDomains.push('example.com');
    expect(await service.rules(tenant)).toEqual({ allowedDomains: ['example.com'], blockedDomains: [] });
  });

  it('forgets a tenant whose data is deleted on this node', async () => {
    await service.save(tenant, rules(['example.com']));
    expect((await service.rules(tenant)).allowedDomains).toEqual(['example.com']);
    await new TenantsService(node.ds, clock as unknown as Clock, caches).remove(tenant);
    expect(await service.rules(tenant)).toEqual(ANY);
  });
});
