import { Controller, Delete, Get, HttpCode, Param, Query } from '@nestjs/common';
import { parseMailbox, recipientDomainProblem, type MeView, type PageAttachment, type RecipientSuggestion } from '@mailpage/contract';
import type { AuthContext } from '../auth/auth-context';
import { Auth, SiteAdmin } from '../auth/auth.decorators';
import { DomainError } from '../common/domain-error';
import { PermissionsService } from '../permissions/permissions.service';
import { SpaceKeyPipe } from '../permissions/space-key.pipe';
import { RecipientPolicyService } from '../recipients/recipient-policy.service';
import { TenantsService } from '../tenants/tenants.service';
import { ConfluenceClient } from './confluence.client';

/** What the dialog asks about the user and the page; every answer comes from Confluence as the user. */
@Controller('api')
export class ConfluenceController {
  constructor(
    private readonly confluence: ConfluenceClient,
    private readonly permissions: PermissionsService,
    private readonly tenants: TenantsService,
    private readonly policy: RecipientPolicyService,
  ) {}

  @Get('me')
  async me(@Auth() auth: AuthContext, @Query('spaceKey') spaceKey?: string): Promise<MeView> {
    const key = spaceKey ? new SpaceKeyPipe().transform(spaceKey) : (auth.spaceKey ?? null);
    const [isSiteAdmin, decision] = await Promise.all([auth.local ? Promise.resolve(true) : this.confluence.isSiteAdmin(auth), this.permissions.decide(auth, key)]);
    return {
      accountId: auth.accountId,
      tenantId: auth.tenantId,
      siteUrl: auth.siteUrl,
      isSiteAdmin,
      canSend: decision.allowed,
      ...(decision.allowed ? {} : { cannotSendReason: decision.reason }),
      local: auth.local,
    };
  }

  @Get('recipients')
  async recipients(@Auth() auth: AuthContext, @Query('query') query = ''): Promise<RecipientSuggestion[]> {
    const q = query.trim();
    if (q.length < 2) return [];
    if (q.length > 100) throw new DomainError('VALIDATION_FAILED', 400, 'query is longer than 100 characters.');
    const [users, rules] = await Promise.all([this.confluence.searchUsers(auth, q), this.policy.rules(auth.tenantId)]);
    // Users the site's domain rules exclude are not offered; a hidden address is checked when the mail is sent.
    return users.filter((u) => {
      const parsed = u.email ? parseMailbox(u.email) : null;
      return !parsed?.ok || !recipientDomainProblem(parsed.mailbox.address, rules);
    });
  }

  @Get('pages/:pageId/attachments')
  attachments(@Auth() auth: AuthContext, @Param('pageId') pageId: string): Promise<PageAttachment[]> {
    if (!/^[0-9A-Za-z_-]{1,64}$/.test(pageId)) throw new DomainError('VALIDATION_FAILED', 400, 'pageId must be a Confluence page id.');
    return this.confluence.listAttachments(auth, pageId);
  }

  /** "Delete all Mailpage data": every row of this site, at once (settings, permissions, keys, audit). */
  @Delete('data')
  @SiteAdmin()
  @HttpCode(204)
  async deleteAll(@Auth() auth: AuthContext): Promise<void> {
    await this.tenants.remove(auth.tenantId);
    this.confluence.invalidate(auth.tenantId);
  }
}
