import { describe, expect, it } from 'vitest';
import { recipientPolicySchema } from '@mailpage/contract';
import { useCachingNode } from '../../../test/support/database';
import { databaseKinds } from '../../../test/support/server';
import type { Clock } from '../common/clock';
import { SETTINGS_CACHE_TTL_MS } from '../settings/row-cache';
import { TenantsService } from '../tenants/tenants.service';
import { RecipientPolicyService } from './recipient-policy.service';

const rules = (allowedDomains: string[], blockedDomains: string[] = []) => recipientPolicySchema.parse({ allowedDomains, blockedDomains });
const ANY = { allowedDomains: [], blockedDomains: [] };

describe.each(databaseKinds())('recipient rules read per send, cached on the node, on %s', (kind) => {
  const t = useCachingNode(kind, ({ db, node, clock, caches }) => ({
    service: new RecipientPolicyService(node.ds, clock as unknown as Clock, caches),
    otherNode: new RecipientPolicyService(db.ds, clock as unknown as Clock),
  }));
  const reads = () => t.node.statements.filter((s) => /^SELECT/i.test(s.trim()) && s.includes('recipient_polic')).length;

  it('reads the rules once for the sends within the TTL, a site without rules too', async () => {
    for (let i = 0; i < 5; i++) expect(await t.service.rules(t.tenant)).toEqual(ANY);
    expect(reads()).toBe(1);
    expect(t.node.statements).toHaveLength(1);
  });

  it('applies rules saved on this node at the very next send', async () => {
    expect(await t.service.rules(t.tenant)).toEqual(ANY);
    await t.service.save(t.tenant, rules(['example.com']));
    expect(await t.service.rules(t.tenant)).toEqual({ allowedDomains: ['example.com'], blockedDomains: [] });
    await t.service.save(t.tenant, rules([], ['old.example.com']));
    expect(await t.service.rules(t.tenant)).toEqual({ allowedDomains: [], blockedDomains: ['old.example.com'] });
  });

  it('reads again once the TTL is over, and sees then what another node saved', async () => {
    expect(await t.service.rules(t.tenant)).toEqual(ANY);
    await t.otherNode.save(t.tenant, rules(['example.com']));
    t.clock.advance(SETTINGS_CACHE_TTL_MS - 1);
    expect(await t.service.rules(t.tenant)).toEqual(ANY);
    t.clock.advance(2);
    expect(await t.service.rules(t.tenant)).toEqual({ allowedDomains: ['example.com'], blockedDomains: [] });
    expect(reads()).toBe(2);
  });

  it('shows the site admin what is saved, never a cached copy', async () => {
    await t.service.rules(t.tenant);
    await t.otherNode.save(t.tenant, rules(['example.com']));
    expect(await t.service.view(t.tenant)).toMatchObject({ allowedDomains: ['example.com'] });
  });

  it('hands out copies: changing the rules a send got does not change the next send’s', async () => {
    await t.service.save(t.tenant, rules(['example.com']));
    const first = await t.service.rules(t.tenant);
    first.allowedDomains.push('evil.example');
    first.blockedDomains.push('example.com');
    expect(await t.service.rules(t.tenant)).toEqual({ allowedDomains: ['example.com'], blockedDomains: [] });
  });

  it('forgets a tenant whose data is deleted on this node', async () => {
    await t.service.save(t.tenant, rules(['example.com']));
    expect((await t.service.rules(t.tenant)).allowedDomains).toEqual(['example.com']);
    await new TenantsService(t.node.ds, t.clock as unknown as Clock, t.caches).remove(t.tenant);
    expect(await t.service.rules(t.tenant)).toEqual(ANY);
  });
});
