import { Injectable } from '@nestjs/common';

/**
 * The per-node caches of a tenant's saved rows. Deleting a tenant's data (uninstall, "delete all data") drops them here,
 * so this node does not go on using rows that are gone.
 */
@Injectable()
export class TenantCaches {
  private readonly drops = new Set<(tenantId: string) => void>();

  register(drop: (tenantId: string) => void): void {
    this.drops.add(drop);
  }

  drop(tenantId: string): void {
    for (const drop of this.drops) drop(tenantId);
  }
}
