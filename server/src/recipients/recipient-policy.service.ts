import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DomainRules, RecipientPolicyView } from '@mailpage/contract';
import type { recipientPolicySchema } from '@mailpage/contract';
import { DataSource } from 'typeorm';
import type { z } from 'zod';
import { Clock } from '../common/clock';
import { RecipientPolicyEntity } from '../database/entities';

/** The domains a site's mail may go to (site admin). Checked before anything is sent; see `recipientDomainProblem`. */
@Injectable()
export class RecipientPolicyService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly clock: Clock,
  ) {}

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
    return { ...toRules(row), updatedAt: row.updatedAt.toISOString() };
  }

  async rules(tenantId: string): Promise<DomainRules> {
    return toRules(await this.repo.findOneBy({ tenantId }));
  }
}

function toRules(row: RecipientPolicyEntity | null): DomainRules {
  return row ? { allowedDomains: JSON.parse(row.allowedDomains) as string[], blockedDomains: JSON.parse(row.blockedDomains) as string[] } : { allowedDomains: [], blockedDomains: [] };
}

function dedupe(entries: string[]): string[] {
  return [...new Set(entries)];
}
