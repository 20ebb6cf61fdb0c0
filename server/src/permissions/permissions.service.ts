import { Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { GlobalPermissions, SpacePermissions, SpacePermissionsView } from '@mailpage/contract';
import { DataSource } from 'typeorm';
import type { AuthContext } from '../auth/auth-context';
import { Clock } from '../common/clock';
import { DomainError } from '../common/domain-error';
import { ConfluenceClient } from '../confluence/confluence.client';
import { GlobalPermissionsEntity, SpacePermissionsEntity } from '../database/entities';
import { RowCache } from '../settings/row-cache';
import { TenantCaches } from '../tenants/tenant-caches';

const DEFAULT_GLOBAL: GlobalPermissions = { enabled: true, allowedGroups: [], enforceInAllSpaces: false };
const DEFAULT_SPACE: SpacePermissions = { enabled: true, allowedGroups: [] };

export type SendDecision = { allowed: true } | { allowed: false; reason: string; allowedGroups: string[] };

const groupsText = (groups: string[]) => groups.map((g) => `"${g}"`).join(', ');

/**
 * Who may send. The site admin's global rule comes first; a space admin's rule narrows it for one space unless the
 * site admin enforces the global rule in all spaces. Group membership is asked of Confluence, never of the client.
 */
@Injectable()
export class PermissionsService {
  /**
   * The rules as `decide` reads them for every send, kept for a few seconds. A missing row is kept too, as the default
   * rule it stands for. Admin screens and saves read the database itself.
   */
  private readonly globalRules: RowCache<Readonly<GlobalPermissions>>;
  private readonly spaceRules: RowCache<Readonly<SpacePermissions>>;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly confluence: ConfluenceClient,
    private readonly clock: Clock,
    @Optional() caches?: TenantCaches,
  ) {
    this.globalRules = new RowCache(clock, caches);
    this.spaceRules = new RowCache(clock, caches);
  }

  async getGlobal(tenantId: string): Promise<GlobalPermissions> {
    const row = await this.db.getRepository(GlobalPermissionsEntity).findOneBy({ tenantId });
    return row ? { enabled: row.enabled, allowedGroups: JSON.parse(row.allowedGroups) as string[], enforceInAllSpaces: row.enforceInAllSpaces } : { ...DEFAULT_GLOBAL };
  }

  async putGlobal(tenantId: string, p: GlobalPermissions): Promise<GlobalPermissions> {
    const allowedGroups = dedupe(p.allowedGroups);
    await this.db.getRepository(GlobalPermissionsEntity).save({ tenantId, enabled: p.enabled, allowedGroups: JSON.stringify(allowedGroups), enforceInAllSpaces: p.enforceInAllSpaces, updatedAt: this.clock.now() });
    this.globalRules.drop(tenantId);
    return { ...p, allowedGroups };
  }

  async getSpace(auth: AuthContext, spaceKey: string): Promise<SpacePermissionsView> {
    const [global, rule, editable] = await Promise.all([this.getGlobal(auth.tenantId), this.readSpace(auth.tenantId, spaceKey), this.canAdministerSpace(auth, spaceKey)]);
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
    // All of the tenant's spaces: on MySQL a differently cased key may have found this row too.
    this.spaceRules.drop(auth.tenantId);
    return this.getSpace(auth, spaceKey);
  }

  /** Whether this user may send from this space, and if not, a sentence that says why and which groups may. */
  async decide(auth: AuthContext, spaceKey: string | null): Promise<SendDecision> {
    if (auth.local) return { allowed: true };
    const global = await this.globalRules.get(auth.tenantId, null, async () => Object.freeze(await this.getGlobal(auth.tenantId)));
    if (!global.enabled) return { allowed: false, reason: 'A site admin has turned off sending pages as mail on this site.', allowedGroups: [] };
    let mine: Promise<Set<string>> | null = null;
    const memberOf = async (allowed: string[]) => {
      const set = await (mine ??= this.confluence.getGroups(auth).then((groups: string[]) => new Set(groups.map((g) => g.toLowerCase()))));
      return allowed.some((g) => set.has(g.toLowerCase()));
    };
    if (global.allowedGroups.length && !(await memberOf(global.allowedGroups))) {
      return { allowed: false, reason: `Only members of ${groupsText(global.allowedGroups)} may send pages as mail on this site.`, allowedGroups: [...global.allowedGroups] };
    }
    if (global.enforceInAllSpaces || !spaceKey) return { allowed: true };
    const space = await this.spaceRules.get(auth.tenantId, spaceKey, async () => Object.freeze(await this.readSpace(auth.tenantId, spaceKey)));
    if (!space.enabled) return { allowed: false, reason: `An admin of space ${spaceKey} has turned off sending pages as mail in this space.`, allowedGroups: [] };
    const spaceGroups = [...space.allowedGroups];
    if (spaceGroups.length && !(await memberOf(spaceGroups))) {
      return { allowed: false, reason: `In space ${spaceKey}, only members of ${groupsText(spaceGroups)} may send pages as mail.`, allowedGroups: spaceGroups };
    }
    return { allowed: true };
  }

  async assertMaySend(auth: AuthContext, spaceKey: string | null): Promise<void> {
    const d = await this.decide(auth, spaceKey);
    if (!d.allowed) throw new DomainError('FORBIDDEN', 403, d.reason, { allowedGroups: d.allowedGroups });
  }

  /** The space's rule; no row: sending allowed, no groups. */
  private async readSpace(tenantId: string, spaceKey: string): Promise<SpacePermissions> {
    const row = await this.db.getRepository(SpacePermissionsEntity).findOneBy({ tenantId, spaceKey });
    return row ? { enabled: row.enabled, allowedGroups: JSON.parse(row.allowedGroups) as string[] } : { ...DEFAULT_SPACE };
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
