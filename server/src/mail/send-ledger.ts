import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In, QueryFailedError } from 'typeorm';
import { SendEntity } from '../database/entities';

export type SendRow = SendEntity;

/** The `sends` table: one row per attempt (metadata only), the idempotency record and the status a client polls. */
@Injectable()
export class SendLedger {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  private get repo() {
    return this.db.getRepository(SendEntity);
  }

  /** Inserts the row; with an idempotency key already taken, answers the row that holds it instead. */
  async reserve(row: SendEntity): Promise<{ reserved: true } | { reserved: false; existing: SendEntity }> {
    try {
      await this.repo.insert(row);
      return { reserved: true };
    } catch (e) {
      if (!row.idempotencyKey || !isUniqueViolation(e)) throw e;
      const existing = await this.repo.findOneBy({ tenantId: row.tenantId, idempotencyKey: row.idempotencyKey });
      if (!existing) throw e;
      return { reserved: false, existing };
    }
  }

  async finish(id: string, patch: Partial<Pick<SendEntity, 'status' | 'smtpCode' | 'messageId' | 'errorCode' | 'rejectedPositions' | 'sizeBytes' | 'durationMs' | 'finishedAt' | 'idempotencyKey'>>): Promise<void> {
    await this.repo.update({ id }, patch);
  }

  async find(tenantId: string, id: string): Promise<SendEntity | null> {
    return this.repo.findOneBy({ tenantId, id });
  }

  /** The rows that hold any of these idempotency keys (the later parts of a split send). */
  async findByKeys(tenantId: string, keys: string[]): Promise<SendEntity[]> {
    return keys.length ? this.repo.findBy({ tenantId, idempotencyKey: In(keys) }) : [];
  }
}

function isUniqueViolation(e: unknown): boolean {
  if (!(e instanceof QueryFailedError)) return false;
  const d = e.driverError as { code?: string; errno?: number };
  return d.code === 'SQLITE_CONSTRAINT_UNIQUE' || d.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || d.code === 'ER_DUP_ENTRY' || d.errno === 1062;
}
