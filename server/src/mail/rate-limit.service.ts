import { createHash } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import { RateLimitEntity } from '../database/entities';

export interface RateLimitDecision {
  allowed: boolean;
  /** 0 when allowed; otherwise whole seconds until the window ends (at least 1), for a Retry-After header. */
  retryAfterSeconds: number;
}

/** How many sends one user and one tenant may make per window, across every node. */
export interface SendRateLimits {
  perUser: number;
  perTenant: number;
  windowSeconds: number;
}

export const DEFAULT_SEND_RATE_LIMITS: SendRateLimits = { perUser: 30, perTenant: 300, windowSeconds: 60 };

export const RATE_LIMIT_OPTIONS = Symbol('RATE_LIMIT_OPTIONS');

// Old windows are deleted at most this often per node; a row is never needed once its window is over.
const PRUNE_EVERY_MS = 60_000;

/**
 * Fixed-window counters in the database, so every node counts against the same numbers. A consume is one atomic
 * upsert, no transaction needed: it creates the window's row with a count of 1, or adds 1 to the count while it is
 * under the limit. The database locks the row for the statement, so two nodes can never both take the last slot.
 */
@Injectable()
export class RateLimitService {
  private readonly limits: SendRateLimits;
  private lastPrune = 0;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly clock: Clock,
    @Optional() @Inject(RATE_LIMIT_OPTIONS) limits?: Partial<SendRateLimits>,
  ) {
    this.limits = { ...DEFAULT_SEND_RATE_LIMITS, ...limits };
  }

  /** Takes one slot of `limit` per `windowSeconds` under `key`, or says how long until the window ends. */
  async consume(key: string, limit: number, windowSeconds: number): Promise<RateLimitDecision> {
    if (!Number.isInteger(limit) || limit < 0) throw new Error('RateLimitService: limit must be a whole number of 0 or more');
    if (!Number.isInteger(windowSeconds) || windowSeconds < 1) throw new Error('RateLimitService: windowSeconds must be a whole number of 1 or more');
    const nowMs = this.clock.now().getTime();
    const windowStart = Math.floor(nowMs / 1000 / windowSeconds) * windowSeconds;
    const windowEnd = windowStart + windowSeconds;
    // The upsert creates a row holding one slot, so a limit of 0 must not reach it: nothing can ever be taken.
    const taken = limit > 0 && (await this.take(hashKey(key), windowStart, windowEnd, limit));
    await this.pruneNow(nowMs);

    if (taken) return { allowed: true, retryAfterSeconds: 0 };
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(windowEnd - nowMs / 1000)) };
  }

  /**
   * One send by `accountId` of `tenantId`: the user's limit first, then the tenant's. A user over their own limit does
   * not use up the tenant's; a send refused by the tenant's limit has used one of the user's slots (it is rare, and
   * giving it back would need a second write that can fail on its own).
   */
  async consumeSend(tenantId: string, accountId: string): Promise<RateLimitDecision & { limitedBy: 'user' | 'tenant' | null }> {
    const { perUser, perTenant, windowSeconds } = this.limits;
    const user = await this.consume(`send:user:${tenantId}:${accountId}`, perUser, windowSeconds);
    if (!user.allowed) return { ...user, limitedBy: 'user' };
    const tenant = await this.consume(`send:tenant:${tenantId}`, perTenant, windowSeconds);
    return tenant.allowed ? { ...tenant, limitedBy: null } : { ...tenant, limitedBy: 'tenant' };
  }

  /** The limits in force, for the 429 message ("30 sends per minute"). */
  get sendLimits(): Readonly<SendRateLimits> {
    return this.limits;
  }

  /** One statement: a new row (count 1) or count + 1 below the limit takes a slot; a full window changes nothing. */
  private async take(key: string, windowStart: number, expiresAt: number, limit: number): Promise<boolean> {
    const q = (name: string) => this.db.driver.escape(name);
    const [table, k, w, count, expires] = [q('rate_limits'), q('limit_key'), q('window_start'), q('count'), q('expires_at')];
    const insert = `INSERT INTO ${table} (${k}, ${w}, ${count}, ${expires}) VALUES (?, ?, 1, ?)`;
    const runner = this.db.createQueryRunner();
    try {
      if (this.db.options.type === 'mysql' || this.db.options.type === 'mariadb') {
        // mysql2 connects with CLIENT_FOUND_ROWS, so a full window (row found, nothing changed) reports 1 affected row,
        // the same as an insert. LAST_INSERT_ID(count) marks that case instead: the count is at least 1 there, while
        // an insert or an increment reports insertId 0 (the table has no AUTO_INCREMENT column).
        const r = await runner.query(`${insert} ON DUPLICATE KEY UPDATE ${count} = IF(${count} < ?, ${count} + 1, LAST_INSERT_ID(${count}))`, [key, windowStart, expiresAt, limit], true);
        const header = r.raw as { affectedRows: number; insertId: number };
        return header.affectedRows > 0 && Number(header.insertId) === 0;
      }
      const r = await runner.query(`${insert} ON CONFLICT (${k}, ${w}) DO UPDATE SET ${count} = ${count} + 1 WHERE ${count} < ?`, [key, windowStart, expiresAt, limit], true);
      return r.affected === 1;
    } finally {
      await runner.release();
    }
  }

  private async pruneNow(nowMs: number): Promise<void> {
    if (nowMs - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = nowMs;
    // Best effort: a failed clean-up leaves rows for the next one and must not fail a send.
    await this.db
      .createQueryBuilder()
      .delete()
      .from(RateLimitEntity)
      .where(`${this.db.driver.escape('expires_at')} < :now`, { now: Math.floor(nowMs / 1000) })
      .execute()
      .catch(() => undefined);
  }
}

/** The sentence for a refused send (429 RATE_LIMITED): who is limited, how much, and when to try again. */
export function rateLimitMessage(decision: RateLimitDecision & { limitedBy: 'user' | 'tenant' | null }, limits: Readonly<SendRateLimits>): string {
  const window = limits.windowSeconds === 60 ? 'a minute' : limits.windowSeconds === 3600 ? 'an hour' : `${limits.windowSeconds} seconds`;
  const wait = decision.retryAfterSeconds === 1 ? '1 second' : `${decision.retryAfterSeconds} seconds`;
  return decision.limitedBy === 'tenant'
    ? `Your site has sent ${limits.perTenant} mails in ${window}, the most this service sends for one site; try again in ${wait}.`
    : `You have sent ${limits.perUser} mails in ${window}, the most one person may send; try again in ${wait}.`;
}

/** The stored key: a hash, so the table holds no tenant or account id (fixed length, too). */
function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('base64url');
}
