import { LRUCache } from 'lru-cache';
import type { Clock } from '../common/clock';
import type { TenantCaches } from '../tenants/tenant-caches';

/** How long a node uses a settings row it read before reading it again: a change made on another node shows within this. */
export const SETTINGS_CACHE_TTL_MS = 5_000;

/** Entries per cache, so thousands of sites cannot grow a node's memory without bound. */
export const SETTINGS_CACHE_MAX_ENTRIES = 10_000;

const SEP = '\u0000';

/**
 * A per-node cache of what a tenant saved (a row, or what is derived from it), keyed by tenant and an optional part
 * such as a space key. Bounded (least recently used go first) and short-lived, since other nodes may change the row.
 * Reads that miss at the same time share one query. A value read while an entry was dropped is not kept, so a save on
 * this node is seen by the next read even when a read was under way during the save. Given `caches`, a tenant's entries
 * go when its data is deleted.
 */
export class RowCache<V extends object> {
  private readonly entries: LRUCache<string, V>;
  private readonly loading = new Map<string, { generation: number; value: Promise<unknown> }>();
  private generation = 0;

  constructor(clock: Pick<Clock, 'now'>, caches?: TenantCaches, options: { ttlMs?: number; maxEntries?: number } = {}) {
    this.entries = new LRUCache<string, V>({
      max: options.maxEntries ?? SETTINGS_CACHE_MAX_ENTRIES,
      ttl: options.ttlMs ?? SETTINGS_CACHE_TTL_MS,
      // The clock is asked on every read (not once a millisecond) so a test's clock moves the cache's time too.
      ttlResolution: 0,
      perf: { now: () => clock.now().getTime() },
    });
    caches?.register((tenantId) => this.drop(tenantId));
  }

  /** The cached value, else what `load` gives (null: nothing to keep, so the next read asks again). */
  get<R extends V | null>(tenantId: string, part: string | null, load: () => Promise<R>): Promise<R> {
    const key = part === null ? tenantId : `${tenantId}${SEP}${part}`;
    const hit = this.entries.get(key);
    if (hit !== undefined) return Promise.resolve(hit as R);
    const pending = this.loading.get(key);
    if (pending && pending.generation === this.generation) return pending.value as Promise<R>;
    const generation = this.generation;
    const value = load().then((v) => {
      if (v !== null && generation === this.generation) this.entries.set(key, v);
      return v;
    });
    this.loading.set(key, { generation, value });
    const forget = () => {
      if (this.loading.get(key)?.value === value) this.loading.delete(key);
    };
    value.then(forget, forget);
    return value;
  }

  /** Drops one entry (`part` given), or every entry of the tenant. */
  drop(tenantId: string, part?: string | null): void {
    this.generation++;
    if (part !== undefined) {
      this.entries.delete(part === null ? tenantId : `${tenantId}${SEP}${part}`);
      return;
    }
    const prefix = `${tenantId}${SEP}`;
    for (const key of [...this.entries.keys()]) if (key === tenantId || key.startsWith(prefix)) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
