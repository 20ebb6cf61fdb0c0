import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { AuditEntry, AuditPage } from '@mailpage/contract';
import type { Logger } from 'pino';
import { Brackets, DataSource, LessThan } from 'typeorm';
import { Clock } from '../common/clock';
import { DomainError } from '../common/domain-error';
import { LOGGER } from '../config/config.module';
import { SendEntity, TenantEntity } from '../database/entities';

export const DEFAULT_RETENTION_DAYS = 90;
const PURGE_EVERY_MS = 60 * 60 * 1000;

export interface AuditQuery {
  cursor?: string;
  limit: number;
  spaceKey?: string;
  outcome?: AuditEntry['outcome'];
  from?: Date;
  to?: Date;
}

export function toAuditEntry(r: SendEntity): AuditEntry {
  return {
    id: r.id,
    createdAt: r.createdAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
    accountId: r.accountId,
    pageId: r.pageId,
    spaceKey: r.spaceKey,
    recipientCount: r.recipientCount,
    encryption: r.encryption,
    outcome: r.status,
    smtpCode: r.smtpCode,
    errorCode: r.errorCode,
    messageId: r.messageId,
    durationMs: r.durationMs,
  };
}

/** The audit log is the `sends` table read newest first, with cursor paging; old rows are purged per tenant's retention. */
@Injectable()
export class AuditService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.purgeAll().catch((e: Error) => this.logger.warn({ errorType: e.name }, 'audit purge failed')), PURGE_EVERY_MS);
    this.timer.unref();
    void this.purgeAll().catch((e: Error) => this.logger.warn({ errorType: e.name }, 'audit purge failed'));
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async list(tenantId: string, q: AuditQuery): Promise<AuditPage> {
    const qb = this.db.getRepository(SendEntity).createQueryBuilder('s').where('s.tenant_id = :tenantId', { tenantId });
    if (q.spaceKey) qb.andWhere('s.space_key = :spaceKey', { spaceKey: q.spaceKey });
    if (q.outcome) qb.andWhere('s.status = :outcome', { outcome: q.outcome });
    if (q.from) qb.andWhere('s.created_at >= :from', { from: q.from });
    if (q.to) qb.andWhere('s.created_at < :to', { to: q.to });
    if (q.cursor) {
      const c = decodeCursor(q.cursor);
      qb.andWhere(new Brackets((w) => w.where('s.created_at < :cAt', { cAt: c.at }).orWhere('s.created_at = :cAt AND s.id < :cId', { cAt: c.at, cId: c.id })));
    }
    const rows = await qb.orderBy('s.created_at', 'DESC').addOrderBy('s.id', 'DESC').take(q.limit + 1).getMany();
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return { entries: page.map(toAuditEntry), nextCursor: rows.length > q.limit && last ? encodeCursor(last) : null };
  }

  async retention(tenantId: string): Promise<{ retentionDays: number }> {
    const t = await this.db.getRepository(TenantEntity).findOneBy({ id: tenantId });
    return { retentionDays: t?.auditRetentionDays ?? DEFAULT_RETENTION_DAYS };
  }

  async setRetention(tenantId: string, days: number): Promise<{ retentionDays: number }> {
    await this.db.getRepository(TenantEntity).update({ id: tenantId }, { auditRetentionDays: days });
    await this.purgeTenant(tenantId, days);
    return { retentionDays: days };
  }

  /** Deletes audit rows older than each tenant's retention. Safe to run on every node at once. */
  async purgeAll(): Promise<number> {
    const tenants = await this.db.getRepository(TenantEntity).find({ select: { id: true, auditRetentionDays: true } });
    let removed = 0;
    for (const t of tenants) removed += await this.purgeTenant(t.id, t.auditRetentionDays ?? DEFAULT_RETENTION_DAYS);
    if (removed) this.logger.info({ removed }, 'purged old audit rows');
    return removed;
  }

  private async purgeTenant(tenantId: string, days: number): Promise<number> {
    const before = new Date(this.clock.now().getTime() - days * 86_400_000);
    const r = await this.db.getRepository(SendEntity).delete({ tenantId, createdAt: LessThan(before) });
    return r.affected ?? 0;
  }
}

function encodeCursor(r: SendEntity): string {
  return Buffer.from(`${r.createdAt.toISOString()}|${r.id}`).toString('base64url');
}

function decodeCursor(cursor: string): { at: Date; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const date = new Date(at ?? '');
  if (!id || Number.isNaN(date.getTime())) throw new DomainError('VALIDATION_FAILED', 400, 'cursor is not one this API handed out; start again without it.');
  return { at: date, id };
}
