import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import { DomainError } from '../common/domain-error';
import { AppConfig } from '../config/app-config';
import { ProvidedQuotaEntity } from '../database/entities';

/** Recipients counted by `consume`, to give back with `release` when the relay took nothing. */
export interface QuotaHold {
  tenantId: string;
  day: string;
  recipients: number;
}

/**
 * The daily recipient quota of the operator's provided relay, per site, counted in the database so that every server
 * node sees the same count. A day is a UTC calendar day. Only counts are stored.
 */
@Injectable()
export class ProvidedQuota {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  get dailyLimit(): number | null {
    return this.config.provided?.dailyQuota ?? null;
  }

  /**
   * Counts `recipients` against today's quota, or refuses with QUOTA_EXCEEDED (429) and counts nothing. Call it before
   * handing the mail to the relay; give the recipients back with `release` if the relay took nothing.
   */
  async consume(tenantId: string, recipients: number): Promise<QuotaHold | null> {
    const limit = this.dailyLimit;
    if (limit === null || recipients <= 0) return null;
    const day = this.today();
    const repo = this.db.getRepository(ProvidedQuotaEntity);
    // Two statements that are each atomic on SQLite and MySQL: make sure today's row exists, then add to it only while
    // the sum stays within the limit. Concurrent sends on any node cannot overshoot.
    await repo.createQueryBuilder().insert().values({ tenantId, day, recipients: 0 }).orIgnore().execute();
    const r = await repo
      .createQueryBuilder()
      .update()
      .set({ recipients: () => 'recipients + :n' })
      .where('tenant_id = :tenantId AND day = :day AND recipients + :n <= :limit', { tenantId, day, limit })
      .setParameter('n', recipients)
      .execute();
    if (r.affected) {
      // Only today's counter matters: earlier days of this site go (one indexed delete, usually of nothing).
      await repo.createQueryBuilder().delete().where('tenant_id = :tenantId AND day < :day', { tenantId, day }).execute();
      return { tenantId, day, recipients };
    }
    const used = (await repo.findOneBy({ tenantId, day }))?.recipients ?? 0;
    const left = Math.max(0, limit - used);
    throw new DomainError(
      'QUOTA_EXCEEDED',
      429,
      left === 0
        ? `This site has reached today's limit of ${limit} recipients through the provided mail relay. Try again after midnight UTC, or set up your own mail server.`
        : `This mail has ${recipients} recipients, but only ${left} of today's ${limit} are left on the provided mail relay. Send to fewer recipients, try again after midnight UTC, or set up your own mail server.`,
      { limit, used, requested: recipients, resetsAt: `${this.tomorrow()}T00:00:00.000Z` },
    );
  }

  /** Gives back recipients counted by `consume` for a mail the relay did not take. */
  async release(hold: QuotaHold | null): Promise<void> {
    if (!hold) return;
    const { tenantId, day, recipients } = hold;
    await this.db
      .getRepository(ProvidedQuotaEntity)
      .createQueryBuilder()
      .update()
      .set({ recipients: () => 'CASE WHEN recipients > :n THEN recipients - :n ELSE 0 END' })
      .where('tenant_id = :tenantId AND day = :day', { tenantId, day })
      .setParameter('n', recipients)
      .execute();
  }

  /** Recipients counted today. */
  async usedToday(tenantId: string): Promise<number> {
    return (await this.db.getRepository(ProvidedQuotaEntity).findOneBy({ tenantId, day: this.today() }))?.recipients ?? 0;
  }

  /** Drops every site's counters of days before yesterday (each site's own go when it next sends). */
  async prune(): Promise<number> {
    const r = await this.db
      .getRepository(ProvidedQuotaEntity)
      .createQueryBuilder()
      .delete()
      .where('day < :day', { day: this.dayOf(new Date(this.clock.now().getTime() - 86_400_000)) })
      .execute();
    return r.affected ?? 0;
  }

  private today(): string {
    return this.dayOf(this.clock.now());
  }

  private tomorrow(): string {
    return this.dayOf(new Date(this.clock.now().getTime() + 86_400_000));
  }

  private dayOf(d: Date): string {
    return d.toISOString().slice(0, 10);
  }
}
