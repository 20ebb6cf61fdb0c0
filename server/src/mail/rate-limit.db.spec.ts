import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource, type Logger } from 'typeorm';
import { createTestDatabase, TestClock, type TestDatabase } from '../../../test/support/database';
import { databaseKinds } from '../../../test/support/server';
import { RateLimitEntity } from '../database/entities';
import { RateLimitService } from './rate-limit.service';

describe.each(databaseKinds())('send rate limits in the database on %s', (kind) => {
  let db: TestDatabase;
  // A second connection pool on the same database: what a second node of the service would be.
  let otherNode: DataSource;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    otherNode = await new DataSource({ ...db.ds.options, migrationsRun: false }).initialize();
  });
  afterAll(async () => {
    await otherNode?.destroy();
    await db?.close();
  });

  const service = (clock: TestClock, ds: DataSource = db.ds, limits?: ConstructorParameters<typeof RateLimitService>[2]) => new RateLimitService(ds, clock, limits);

  it('lets exactly the limit through when two nodes take slots at the same moment', async () => {
    const clock = new TestClock(new Date('2026-11-01T12:00:05.000Z'));
    const nodes = [service(clock), service(clock, otherNode)];
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => nodes[i % 2].consume('burst', 15, 60)));
    expect(results.filter((r) => r.allowed)).toHaveLength(15);
    const rows = await db.ds.getRepository(RateLimitEntity).find();
    expect(rows.find((r) => r.windowStart === Date.parse('2026-11-01T12:00:00Z') / 1000)?.count).toBe(15);
  });

  it('lets exactly N of N + 5 simultaneous sends through across two nodes, for limits of 1 to 30', async () => {
    const clock = new TestClock(new Date('2026-11-01T12:30:05.000Z'));
    const nodes = [service(clock), service(clock, otherNode)];
    for (const limit of [1, 2, 7, 30]) {
      const results = await Promise.all(Array.from({ length: limit + 5 }, (_, i) => nodes[i % 2].consume(`n-plus-5-${limit}`, limit, 60)));
      expect(results.filter((r) => r.allowed)).toHaveLength(limit);
      expect(results.filter((r) => !r.allowed).every((r) => r.retryAfterSeconds === 55)).toBe(true);
    }
  });

  it('takes or refuses a slot in one statement', async () => {
    const statements: string[] = [];
    const ignore = () => undefined;
    const logger: Logger = { logQuery: (q) => void statements.push(q), logQueryError: ignore, logQuerySlow: ignore, logSchemaBuild: ignore, logMigration: ignore, log: ignore };
    const counted = await new DataSource({ ...db.ds.options, migrationsRun: false, logger }).initialize();
    try {
      const clock = new TestClock(new Date('2026-11-01T12:40:00.000Z'));
      const limiter = service(clock, counted);
      // The first consume of a fresh service also deletes old windows (at most once a minute).
      await limiter.consume('warm-up', 1, 60);
      statements.length = 0;
      expect((await limiter.consume('one-statement', 2, 60)).allowed).toBe(true);
      expect((await limiter.consume('one-statement', 2, 60)).allowed).toBe(true);
      expect((await limiter.consume('one-statement', 2, 60)).allowed).toBe(false);
      expect(statements).toHaveLength(3);
      expect((await limiter.consumeSend('tenant-s', 'alice')).allowed).toBe(true);
      expect(statements).toHaveLength(5);
    } finally {
      await counted.destroy();
    }
  });

  it('keeps counting a window whose row an older version created (count 0, then + 1)', async () => {
    const clock = new TestClock(new Date('2026-11-01T12:50:00.000Z'));
    const limiter = service(clock);
    const start = Date.parse('2026-11-01T12:50:00Z') / 1000;
    const repo = db.ds.getRepository(RateLimitEntity);
    await limiter.consume('probe', 1, 60);
    const hashed = (await repo.findOneByOrFail({ windowStart: start })).key;
    // What the previous version's first statement leaves while a node of it runs beside this one: no slot taken yet.
    await repo.update({ key: hashed, windowStart: start }, { count: 0 });
    expect((await limiter.consume('probe', 2, 60)).allowed).toBe(true);
    expect((await limiter.consume('probe', 2, 60)).allowed).toBe(true);
    expect((await limiter.consume('probe', 2, 60)).allowed).toBe(false);
    expect((await repo.findOneByOrFail({ key: hashed, windowStart: start })).count).toBe(2);
  });

  it('refuses past the limit and says how many seconds are left in the window', async () => {
    const clock = new TestClock(new Date('2026-11-01T12:00:10.250Z'));
    const limiter = service(clock);
    for (let i = 0; i < 3; i++) expect(await limiter.consume('user-a', 3, 60)).toEqual({ allowed: true, retryAfterSeconds: 0 });
    expect(await limiter.consume('user-a', 3, 60)).toEqual({ allowed: false, retryAfterSeconds: 50 });
    clock.advance(49_500);
    expect(await limiter.consume('user-a', 3, 60)).toEqual({ allowed: false, retryAfterSeconds: 1 });
  });

  it('starts counting again when the next window begins', async () => {
    const clock = new TestClock(new Date('2026-11-01T13:00:59.000Z'));
    const limiter = service(clock);
    expect((await limiter.consume('user-b', 1, 60)).allowed).toBe(true);
    expect((await limiter.consume('user-b', 1, 60)).allowed).toBe(false);
    clock.advance(1_000);
    expect((await limiter.consume('user-b', 1, 60)).allowed).toBe(true);
  });

  it('counts each key on its own', async () => {
    const clock = new TestClock(new Date('2026-11-01T14:00:00.000Z'));
    const limiter = service(clock);
    expect((await limiter.consume('user-c', 1, 60)).allowed).toBe(true);
    expect((await limiter.consume('user-d', 1, 60)).allowed).toBe(true);
    expect((await limiter.consume('user-c', 1, 60)).allowed).toBe(false);
  });

  it('refuses everything with a limit of 0, and refuses a limit or window that is not a whole number', async () => {
    const limiter = service(new TestClock(new Date('2026-11-01T15:00:00.000Z')));
    expect(await limiter.consume('closed', 0, 60)).toEqual({ allowed: false, retryAfterSeconds: 60 });
    await expect(limiter.consume('x', 1.5, 60)).rejects.toThrow(/limit/);
    await expect(limiter.consume('x', 1, 0)).rejects.toThrow(/windowSeconds/);
  });

  it('limits a user, and a tenant across all its users, on either node', async () => {
    const clock = new TestClock(new Date('2026-11-01T16:00:00.000Z'));
    const limits = { perUser: 2, perTenant: 3, windowSeconds: 60 };
    const [a, b] = [service(clock, db.ds, limits), service(clock, otherNode, limits)];
    expect(await a.consumeSend('tenant-1', 'alice')).toEqual({ allowed: true, retryAfterSeconds: 0, limitedBy: null });
    expect((await b.consumeSend('tenant-1', 'alice')).allowed).toBe(true);
    expect(await a.consumeSend('tenant-1', 'alice')).toEqual({ allowed: false, retryAfterSeconds: 60, limitedBy: 'user' });
    // Alice's refused send did not use up the tenant's third slot: Bob gets it.
    expect((await b.consumeSend('tenant-1', 'bob')).allowed).toBe(true);
    expect(await a.consumeSend('tenant-1', 'carol')).toMatchObject({ allowed: false, limitedBy: 'tenant' });
    // Another tenant has its own budget.
    expect((await a.consumeSend('tenant-2', 'alice')).allowed).toBe(true);
  });

  it('stores no tenant or account id, only a hash of the key', async () => {
    const limiter = service(new TestClock(new Date('2026-11-01T17:00:00.000Z')));
    await limiter.consumeSend('tenant-visible-7f3a', 'account-visible-91c2');
    const rows = JSON.stringify(await db.ds.getRepository(RateLimitEntity).find());
    expect(rows).not.toContain('tenant-visible-7f3a');
    expect(rows).not.toContain('account-visible-91c2');
  });

  it('deletes windows that are over', async () => {
    const clock = new TestClock(new Date('2026-11-02T09:00:00.000Z'));
    await service(clock).consume('old-window', 5, 60);
    const repo = db.ds.getRepository(RateLimitEntity);
    const start = Date.parse('2026-11-02T09:00:00Z') / 1000;
    expect(await repo.countBy({ windowStart: start })).toBe(1);
    clock.advance(10 * 60_000);
    // A fresh service prunes on its first consume; a long-running one does so once a minute.
    await service(clock).consume('new-window', 5, 60);
    expect(await repo.countBy({ windowStart: start })).toBe(0);
    expect(await repo.countBy({ windowStart: start + 600 })).toBe(1);
  });
});
