import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, insertTenant, TestClock, type TestDatabase } from '../../../test/support/database';
import { databaseKinds } from '../../../test/support/server';
import type { Clock } from '../common/clock';
import type { AppConfig } from '../config/app-config';
import { ProvidedQuotaEntity } from '../database/entities';
import { ProvidedQuota } from './provided-quota.service';

describe.each(databaseKinds())('provided relay daily quota on %s', (kind) => {
  let db: TestDatabase;
  let clock: TestClock;
  let quota: ProvidedQuota;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    await insertTenant(db.ds, 'tenant-a');
    await insertTenant(db.ds, 'tenant-b');
    clock = new TestClock(new Date('2026-11-22T23:00:00.000Z'));
    quota = new ProvidedQuota(db.ds, { provided: { dailyQuota: 10 } } as unknown as AppConfig, clock as unknown as Clock);
  });
  afterAll(async () => db?.close());

  it('counts recipients per site and day, and refuses the mail that would go over with a sentence and 429', async () => {
    await quota.consume('tenant-a', 6);
    await quota.consume('tenant-a', 4);
    expect(await quota.usedToday('tenant-a')).toBe(10);
    const e = await quota.consume('tenant-a', 1).catch((x: unknown) => x);
    expect(e).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      status: 429,
      message: "This site has reached today's limit of 10 recipients through the provided mail relay. Try again after midnight UTC, or set up your own mail server.",
      details: { limit: 10, used: 10, requested: 1, resetsAt: '2026-11-23T00:00:00.000Z' },
    });
    // The other site has its own count.
    await quota.consume('tenant-b', 3);
    expect(await quota.usedToday('tenant-b')).toBe(3);
    const partial = await quota.consume('tenant-b', 8).catch((x: unknown) => x);
    expect(partial).toMatchObject({ code: 'QUOTA_EXCEEDED', message: "This mail has 8 recipients, but only 7 of today's 10 are left on the provided mail relay. Send to fewer recipients, try again after midnight UTC, or set up your own mail server." });
    expect(await quota.usedToday('tenant-b')).toBe(3);
  });

  it('gives recipients back for a mail the relay did not take', async () => {
    const hold = await quota.consume('tenant-b', 5);
    expect(await quota.usedToday('tenant-b')).toBe(8);
    await quota.release(hold);
    expect(await quota.usedToday('tenant-b')).toBe(3);
  });

  it('starts again at midnight UTC, and old days are pruned', async () => {
    clock.advance(2 * 3600_000);
    expect(await quota.usedToday('tenant-a')).toBe(0);
    await quota.consume('tenant-a', 10);
    // Sending on a new day drops the site's earlier counters; the other site's stay until pruned.
    expect(await db.ds.getRepository(ProvidedQuotaEntity).countBy({ tenantId: 'tenant-a' })).toBe(1);
    expect(await db.ds.getRepository(ProvidedQuotaEntity).countBy({ tenantId: 'tenant-b' })).toBe(1);
    clock.advance(2 * 86_400_000);
    expect(await quota.prune()).toBe(2);
    expect(await db.ds.getRepository(ProvidedQuotaEntity).count()).toBe(0);
  });

  it('never lets concurrent sends together go over the limit', async () => {
    clock.advance(86_400_000);
    const results = await Promise.allSettled(Array.from({ length: 25 }, () => quota.consume('tenant-a', 1)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
    expect(await quota.usedToday('tenant-a')).toBe(10);
  });

  it('counts nothing when the operator runs no relay', async () => {
    const off = new ProvidedQuota(db.ds, { provided: null } as unknown as AppConfig, clock as unknown as Clock);
    expect(await off.consume('tenant-a', 1000)).toBeNull();
  });

  it('holds only counts: deleting a site deletes its counters', async () => {
    await quota.consume('tenant-b', 1);
    const rows = await db.ds.getRepository(ProvidedQuotaEntity).find();
    expect(Object.keys(rows[0]).sort()).toEqual(['day', 'recipients', 'tenantId']);
    await db.ds.query(`DELETE FROM tenants WHERE id = 'tenant-b'`);
    expect(await db.ds.getRepository(ProvidedQuotaEntity).countBy({ tenantId: 'tenant-b' })).toBe(0);
  });
});
