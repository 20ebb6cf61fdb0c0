import { Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DomainRules, RecipientPolicyView } from '@mailpage/contract';
import type { recipientPolicySchema } from '@mailpage/contract';
import { DataSource } from 'typeorm';
import type { z } from 'zod';
import { Clock } from '../common/clock';
import { RecipientPolicyEntity } from '../database/entities';
import { RowCache } from '../settings/row-cache';
import { TenantCaches } from '../tenants/tenant-caches';

type CachedRules = { readonly allowedDomains: readonly string[]; readonly blockedDomains: readonly string[] };

/** The domains a site's mail may go to (site admin). Checked before anything is sent; see `recipientDomainProblem`. */
@Injectable()
export class RecipientPolicyService {
  /**
   * The rules as `rules` reads them for every send and user search, kept for a few seconds. A missing row is kept too,
   * as the "any domain" it stands for. The admin screen and saves read the database itself.
   */
  private readonly cached: RowCache<CachedRules>;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly clock: Clock,
    @Optional() caches?: TenantCaches,
  ) {
    this.cached = new RowCache(clock, caches);
  }

  private get repo() {
    return this.db.getRepository(RecipientPolicyEntity);
  }

  async view(tenantId: string): Promise<RecipientPolicyView> {
    const row = await this.repo.findOneBy({ tenantId });
    return { ...toRules(row), updatedAt: row?.updatedAt.toISOString() ?? null };
  }

  async save(tenantId: string, input: z.output<typeof recipientPolicySchema>): Promise<RecipientPolicyView> {
    const row = Object.assign(new RecipientPolicyEntity(), {
      tenantId,
      allowedDomains: JSON.stringify(dedupe(input.allowedDomains)),
      blockedDomains: JSON.stringify(dedupe(input.blockedDomains)),
      updatedAt: this.clock.now(),
    });
    await this.repo.save(row);
    this.cached.drop(tenantId);
    return { ...toRules(row), updatedAt: row.updatedAt.toISOString() };
  }

  /** The rules a send (or a user search) applies: a copy, so a caller cannot change what the next send reads. */
  async rules(tenantId: string): Promise<DomainRules> {
    const rules = await this.cached.get(tenantId, null, async () => {
      const r = toRules(await this.repo.findOneBy({ tenantId }));
      return Object.freeze({ allowedDomains: Object.freeze(r.allowedDomains), blockedDomains: Object.freeze(r.blockedDomains) });
    });
    return { allowedDomains: [...rules.allowedDomains], blockedDomains: [...rules.blockedDomains] };
  }
}

function toRules(row: RecipientPolicyEntity | null): DomainRules {
  return row ? { allowedDomains: JSON.parse(row.allowedDomains) as string[], blockedDomains: JSON.parse(row.blockedDomains) as string[] } : { allowedDomains: [], blockedDomains: [] };
}

function dedupe(entries: string[]): string[] {
  return [...new Set(entries)];
}
