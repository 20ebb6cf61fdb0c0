import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import type { LocalSession } from '@mailpage/contract';
import type { Request } from 'express';
import { z } from 'zod';
import { Public } from '../auth/auth.decorators';
import { DomainError } from '../common/domain-error';
import { ZodPipe } from '../common/zod.pipe';
import { ConfluenceSandbox } from './sandbox/confluence-sandbox';

const TOKEN_SECONDS = 300;

/**
 * Local mode: the SPA asks here for what Forge would give it in Confluence (an invocation token and the OAuth tokens)
 * for a sandbox user it picks. The API then checks those tokens exactly as in production.
 */
@Controller('api/local/session')
export class LocalSessionController {
  constructor(private readonly sandbox: ConfluenceSandbox) {}

  @Post()
  @Public()
  @HttpCode(200)
  async create(@Req() req: Request, @Body(new ZodPipe(z.object({ accountId: z.string().max(128).optional() }))) body: { accountId?: string }): Promise<LocalSession> {
    const remote = req.socket.remoteAddress ?? '';
    if (!['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(remote)) throw new DomainError('FORBIDDEN', 403, 'Local sessions are only handed out to this machine.');
    const accountId = body.accountId ?? 'sandbox-admin';
    const user = this.sandbox.users.get(accountId);
    if (!user) throw new DomainError('NOT_FOUND', 404, `The sandbox has no user "${accountId}".`);
    return {
      accountId,
      displayName: user.displayName,
      headers: await this.sandbox.invocationHeaders(accountId, { ttlSeconds: TOKEN_SECONDS }),
      expiresIn: TOKEN_SECONDS,
      users: [...this.sandbox.users.values()].map((u) => ({ accountId: u.accountId, displayName: u.displayName, siteAdmin: u.siteAdmin })),
      spaces: this.sandbox.spaceSummaries(),
    };
  }
}
