import { Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { LRUCache } from 'lru-cache';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import {
  EncryptionSettingsEntity,
  GlobalPermissionsEntity,
  MailLayoutEntity,
  MailSettingsEntity,
  ProvidedQuotaEntity,
  PublicKeyEntity,
  RecipientPolicyEntity,
  SendEntity,
  SpaceMailSettingsEntity,
  SpacePermissionsEntity,
  TenantEntity,
} from '../database/entities';
import { TenantCaches } from './tenant-caches';

const TOUCH_INTERVAL_MS = 60 * 60 * 1000;

/** Installations of the app. A verified token for an unknown installation provisions it (lifecycle events can be missed). */
@Injectable()
export class TenantsService {
  /** Installations seen recently by this node, so a request does not write the database every time. */
  private readonly recent = new LRUCache<string, { apiBaseUrl: string; at: number }>({ max: 10_000 });

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly clock: Clock,
    @Optional() private readonly caches?: TenantCaches,
  ) {}

  async touch(id: string, apiBaseUrl: string): Promise<void> {
    const now = this.clock.now();
    const seen = this.recent.get(id);
    if (seen && seen.apiBaseUrl === apiBaseUrl && now.getTime() - seen.at < TOUCH_INTERVAL_MS) return;
    const repo = this.db.getRepository(TenantEntity);
    const existing = await repo.findOneBy({ id });
    if (existing) {
      await repo.update({ id }, { apiBaseUrl, lastSeenAt: now });
    } else {
      try {
        await repo.insert({ id, apiBaseUrl, installedAt: now, lastSeenAt: now, auditRetentionDays: null });
      } catch (e) {
        // Another node inserted it at the same moment.
        if (!(await repo.existsBy({ id }))) throw e;
      }
    }
    this.recent.set(id, { apiBaseUrl, at: now.getTime() });
  }

  async exists(id: string): Promise<boolean> {
    return this.db.getRepository(TenantEntity).existsBy({ id });
  }

  /** Deletes every row of the tenant, in one transaction, and what this node cached of them. */
  async remove(id: string): Promise<void> {
    await this.db.transaction(async (m) => {
      await m.delete(SendEntity, { tenantId: id });
      await m.delete(MailSettingsEntity, { tenantId: id });
      await m.delete(GlobalPermissionsEntity, { tenantId: id });
      await m.delete(SpacePermissionsEntity, { tenantId: id });
      await m.delete(PublicKeyEntity, { tenantId: id });
      await m.delete(EncryptionSettingsEntity, { tenantId: id });
      await m.delete(ProvidedQuotaEntity, { tenantId: id });
      await m.delete(MailLayoutEntity, { tenantId: id });
      await m.delete(RecipientPolicyEntity, { tenantId: id });
      await m.delete(SpaceMailSettingsEntity, { tenantId: id });
      await m.delete(TenantEntity, { id });
    });
    this.recent.delete(id);
    this.caches?.drop(id);
  }
}
