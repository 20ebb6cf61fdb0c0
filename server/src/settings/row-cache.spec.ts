import { describe, expect, it } from 'vitest';
import { TestClock } from '../../../test/support/database';
import { TenantCaches } from '../tenants/tenant-caches';
import { RowCache, SETTINGS_CACHE_MAX_ENTRIES, SETTINGS_CACHE_TTL_MS } from './row-cache';

/** A load the test finishes by hand, counting how often it was asked for. */
function loader<V>() {
  let calls = 0;
  const pending: ((v: V | null) => void)[] = [];
  return {
    load: () => {
      calls++;
      return new Promise<V | null>((resolve) => pending.push(resolve));
    },
    finish: (v: V | null) => pending.shift()!(v),
    get calls() {
      return calls;
    },
  };
}

const value = (n: number) => ({ n });

describe('RowCache', () => {
  it('keeps a short TTL and a bounded size by default', () => {
    expect(SETTINGS_CACHE_TTL_MS).toBeGreaterThanOrEqual(1_000);
    expect(SETTINGS_CACHE_TTL_MS).toBeLessThanOrEqual(10_000);
    expect(SETTINGS_CACHE_MAX_ENTRIES).toBe(10_000);
  });

  it('answers from memory within the TTL and loads again once it is over', async () => {
    const clock = new TestClock();
    const cache = new RowCache<{ n: number }>(clock, undefined, { ttlMs: 5_000 });
    let loads = 0;
    const load = async () => value(++loads);
    expect(await cache.get('t1', null, load)).toEqual({ n: 1 });
    clock.advance(4_999);
    expect(await cache.get('t1', null, load)).toEqual({ n: 1 });
    clock.advance(2);
    expect(await cache.get('t1', null, load)).toEqual({ n: 2 });
    expect(loads).toBe(2);
  });

  it('does not keep a missing row, so the next read asks again', async () => {
    const cache = new RowCache<{ n: number }>(new TestClock());
    let loads = 0;
    const load = async () => (++loads === 1 ? null : value(loads));
    expect(await cache.get('t1', null, load)).toBeNull();
    expect(await cache.get('t1', null, load)).toEqual({ n: 2 });
    expect(loads).toBe(2);
  });

  it('holds at most maxEntries, dropping the least recently used', async () => {
    const cache = new RowCache<{ n: number }>(new TestClock(), undefined, { maxEntries: 3 });
    let loads = 0;
    const load = async () => value(++loads);
    for (const t of ['a', 'b', 'c']) await cache.get(t, null, load);
    await cache.get('a', null, load);
    for (let i = 0; i < 100; i++) await cache.get(`other-${i}`, null, load);
    expect(cache.size).toBe(3);
    const before = loads;
    await cache.get('a', null, load);
    expect(loads).toBe(before + 1);
  });

  it('shares one load between reads that miss at the same time', async () => {
    const cache = new RowCache<{ n: number }>(new TestClock());
    const l = loader<{ n: number }>();
    const reads = [cache.get('t1', null, l.load), cache.get('t1', null, l.load), cache.get('t1', null, l.load)];
    l.finish(value(7));
    expect(await Promise.all(reads)).toEqual([{ n: 7 }, { n: 7 }, { n: 7 }]);
    expect(l.calls).toBe(1);
    expect(await cache.get('t1', null, l.load)).toEqual({ n: 7 });
  });

  it('does not keep what a read under way during a drop returns (the row as it was before a save)', async () => {
    const cache = new RowCache<{ n: number }>(new TestClock());
    const l = loader<{ n: number }>();
    const before = cache.get('t1', null, l.load);
    cache.drop('t1', null);
    l.finish(value(1));
    expect(await before).toEqual({ n: 1 });
    const next = cache.get('t1', null, l.load);
    expect(l.calls).toBe(2);
    l.finish(value(2));
    expect(await next).toEqual({ n: 2 });
    expect(await cache.get('t1', null, l.load)).toEqual({ n: 2 });
    expect(l.calls).toBe(2);
  });

  it('does not let a read after a drop wait for a load that began before it', async () => {
    const cache = new RowCache<{ n: number }>(new TestClock());
    const l = loader<{ n: number }>();
    const before = cache.get('t1', null, l.load);
    cache.drop('t1');
    const after = cache.get('t1', null, l.load);
    expect(l.calls).toBe(2);
    l.finish(value(1));
    l.finish(value(2));
    expect(await before).toEqual({ n: 1 });
    expect(await after).toEqual({ n: 2 });
    expect(await cache.get('t1', null, l.load)).toEqual({ n: 2 });
    expect(l.calls).toBe(2);
  });

  it('drops one part, or every entry of a tenant and only that tenant', async () => {
    const cache = new RowCache<{ n: number }>(new TestClock());
    let loads = 0;
    const load = async () => value(++loads);
    for (const [t, part] of [['t1', null], ['t1', 'DOCS'], ['t1', 'ENG'], ['t10', null], ['t2', 'DOCS']] as const) await cache.get(t, part, load);
    cache.drop('t1', 'DOCS');
    expect(cache.size).toBe(4);
    cache.drop('t1');
    expect(cache.size).toBe(2);
    const before = loads;
    await cache.get('t10', null, load);
    await cache.get('t2', 'DOCS', load);
    expect(loads).toBe(before);
  });

  it('drops every entry of a tenant whose data is deleted, when given the tenant caches', async () => {
    const caches = new TenantCaches();
    const cache = new RowCache<{ n: number }>(new TestClock(), caches);
    let loads = 0;
    const load = async () => value(++loads);
    for (const [t, part] of [['t1', null], ['t1', 'DOCS'], ['t2', null]] as const) await cache.get(t, part, load);
    caches.drop('t1');
    expect(cache.size).toBe(1);
    expect(await cache.get('t2', null, load)).toEqual({ n: 3 });
    expect(await cache.get('t1', null, load)).toEqual({ n: 4 });
  });

  it('passes a failed load to every waiting read and keeps nothing', async () => {
    const cache = new RowCache<{ n: number }>(new TestClock());
    let fail = true;
    const load = async () => {
      if (fail) throw new Error('database away');
      return value(1);
    };
    await expect(Promise.all([cache.get('t1', null, load), cache.get('t1', null, load)])).rejects.toThrow('database away');
    fail = false;
    expect(await cache.get('t1', null, load)).toEqual({ n: 1 });
  });
});
