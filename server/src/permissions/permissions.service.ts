import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { GlobalPermissions, SpacePermissions, SpacePermissionsView } from '@mailpage/contract';
import { DataSource } from 'typeorm';
import type { AuthContext } from '../auth/auth-context';
import { Clock } from '../common/clock';
import { DomainError } from '../common/domain-error';
import { ConfluenceClient } from '../confluence/confluence.client';
import { GlobalPermissionsEntity, SpacePermissionsEntity } from '../database/entities';

const DEFAULT_GLOBAL: GlobalPermissions = { enabled: true, allowedGroups: [], enforceInAllSpaces: false };

export type SendDecision = { allowed: true } | { allowed: false; reason: string; allowedGroups: string[] };

const groupsText = (groups: string[]) => groups.map((g) => `"${g}"`).join(', ');

/**
 * Who may send. The site admin's global rule comes first; a space admin's rule narrows it for one space unless the
 * site admin enforces the global rule in all spaces. Group membership is asked of Confluence, never of the client.
 */
@Injectable()
export class PermissionsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly confluence: ConfluenceClient,
    private readonly clock: Clock,
  ) {}

  async getGlobal(tenantId: string): Promise<GlobalPermissions> {
    const row = await this.db.getRepository(GlobalPermissionsEntity).findOneBy({ tenantId });
    return row ? { enabled: row.enabled, allowedGroups: JSON.parse(row.allowedGroups) as string[], enforceInAllSpaces: row.enforceInAllSpaces } : { ...DEFAULT_GLOBAL };
  }

  async putGlobal(tenantId: string, p: GlobalPermissions): Promise<GlobalPermissions> {
    const allowedGroups = dedupe(p.allowedGroups);
    await this.db.getRepository(GlobalPermissionsEntity).save({ tenantId, enabled: p.enabled, allowedGroups: JSON.stringify(allowedGroups), enforceInAllSpaces: p.enforceInAllSpaces, updatedAt: this.clock.now() });
    return { ...p, allowedGroups };
  }

  async getSpace(auth: AuthContext, spaceKey: string): Promise<SpacePermissionsView> {
    const [global, row, editable] = await Promise.all([
      this.getGlobal(auth.tenantId),
      this.db.getRepository(SpacePermissionsEntity).findOneBy({ tenantId: auth.tenantId, spaceKey }),
      this.canAdministerSpace(auth, spaceKey),
    ]);
    const rule: SpacePermissions = row ? { enabled: row.enabled, allowedGroups: JSON.parse(row.allowedGroups) as string[] } : { enabled: true, allowedGroups: [] };
    return { spaceKey, ...rule, enforcedGlobally: global.enforceInAllSpaces, editable: editable && !global.enforceInAllSpaces };
  }

  async putSpace(auth: AuthContext, spaceKey: string, p: SpacePermissions): Promise<SpacePermissionsView> {
    if (!(await this.canAdministerSpace(auth, spaceKey))) {
      throw new DomainError('FORBIDDEN', 403, `Only an admin of space ${spaceKey} (or a site admin) can change who may send from it.`);
    }
    if ((await this.getGlobal(auth.tenantId)).enforceInAllSpaces) {
      throw new DomainError('FORBIDDEN', 403, "The site admin's rule applies in all spaces, so space rules cannot be changed. Ask a site admin.");
    }
    const allowedGroups = dedupe(p.allowedGroups);
    await this.db.getRepository(SpacePermissionsEntity).save({ tenantId: auth.tenantId, spaceKey, enabled: p.enabled, allowedGroups: JSON.stringify(allowedGroups), updatedAt: this.clock.now() });
    return this.getSpace(auth, spaceKey);
  }

  /** Whether this user may send from this space, and if not, a sentence that says why and which groups may. */
  async decide(auth: AuthContext, spaceKey: string | null): Promise<SendDecision> {
    if (auth.local) return { allowed: true };
    const global = await this.getGlobal(auth.tenantId);
    if (!global.enabled) return { allowed: false, reason: 'A site admin has turned off sending pages as mail on this site.', allowedGroups: [] };
    let mine: Promise<Set<string>> | null = null;
    const memberOf = async (allowed: string[]) => {
      const set = await (mine ??= this.confluence.getGroups(auth).then((groups: string[]) => new Set(groups.map((g) => g.toLowerCase()))));
      return allowed.some((g) => set.has(g.toLowerCase()));
    };
    if (global.allowedGroups.length && !(await memberOf(global.allowedGroups))) {
      return { allowed: false, reason: `Only members of ${groupsText(global.allowedGroups)} may send pages as mail on this site.`, allowedGroups: global.allowedGroups };
    }
    if (global.enforceInAllSpaces || !spaceKey) return { allowed: true };
    const space = await this.db.getRepository(SpacePermissionsEntity).findOneBy({ tenantId: auth.tenantId, spaceKey });
    if (!space) return { allowed: true };
    if (!space.enabled) return { allowed: false, reason: `An admin of space ${spaceKey} has turned off sending pages as mail in this space.`, allowedGroups: [] };
    const spaceGroups = JSON.parse(space.allowedGroups) as string[];
    if (spaceGroups.length && !(await memberOf(spaceGroups))) {
      return { allowed: false, reason: `In space ${spaceKey}, only members of ${groupsText(spaceGroups)} may send pages as mail.`, allowedGroups: spaceGroups };
    }
    return { allowed: true };
  }

  async assertMaySend(auth: AuthContext, spaceKey: string | null): Promise<void> {
    const d = await this.decide(auth, spaceKey);
    if (!d.allowed) throw new DomainError('FORBIDDEN', 403, d.reason, { allowedGroups: d.allowedGroups });
  }

  /** A site admin, or an admin of this space (asked of Confluence). */
  async canAdministerSpace(auth: AuthContext, spaceKey: string): Promise<boolean> {
    if (auth.local) return true;
    if (await this.confluence.isSiteAdmin(auth)) return true;
    return this.confluence.isSpaceAdmin(auth, spaceKey);
  }
}

function dedupe(groups: string[]): string[] {
  const seen = new Set<string>();
  return groups.map((g) => g.trim()).filter((g) => g && !seen.has(g.toLowerCase()) && seen.add(g.toLowerCase()));
}
