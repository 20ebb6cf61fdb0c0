import { Body, Controller, Get, Param, Put, Query } from '@nestjs/common';
import { recipientPolicySchema, type GroupMemberCount, type GroupSuggestion, type RecipientPolicyView } from '@mailpage/contract';
import type { z } from 'zod';
import type { AuthContext } from '../auth/auth-context';
import { Auth, SiteAdmin } from '../auth/auth.decorators';
import { DomainError } from '../common/domain-error';
import { ZodPipe } from '../common/zod.pipe';
import { ConfluenceClient } from '../confluence/confluence.client';
import { RecipientPolicyService } from './recipient-policy.service';

/** The site's recipient domain rules, and the Confluence groups a sender can add as recipients. */
@Controller('api')
export class RecipientsController {
  constructor(
    private readonly policy: RecipientPolicyService,
    private readonly confluence: ConfluenceClient,
  ) {}

  @Get('settings/recipients')
  @SiteAdmin()
  get(@Auth() auth: AuthContext): Promise<RecipientPolicyView> {
    return this.policy.view(auth.tenantId);
  }

  @Put('settings/recipients')
  @SiteAdmin()
  put(@Auth() auth: AuthContext, @Body(new ZodPipe(recipientPolicySchema)) body: z.output<typeof recipientPolicySchema>): Promise<RecipientPolicyView> {
    return this.policy.save(auth.tenantId, body);
  }

  @Get('groups')
  async groups(@Auth() auth: AuthContext, @Query('query') query = ''): Promise<GroupSuggestion[]> {
    const q = query.trim();
    if (q.length < 2) return [];
    if (q.length > 100) throw new DomainError('VALIDATION_FAILED', 400, 'query is longer than 100 characters.');
    return (await this.confluence.searchGroups(auth, q)).map((name) => ({ name }));
  }

  @Get('groups/:name/members/count')
  async memberCount(@Auth() auth: AuthContext, @Param('name') name: string): Promise<GroupMemberCount> {
    if (!name.trim() || name.length > 255) throw new DomainError('VALIDATION_FAILED', 400, 'A group name is 1 to 255 characters.');
    const group = await this.confluence.findGroup(auth, name);
    if (!group) throw new DomainError('NOT_FOUND', 404, `There is no Confluence group "${name.slice(0, 80)}", or you may not see it.`);
    return { name: group.name, count: await this.confluence.groupMemberCount(auth, group.id) };
  }
}
