import { timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, Optional, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { AppConfig } from '../config/app-config';
import { DomainError } from '../common/domain-error';
import { ConfluenceClient } from '../confluence/confluence.client';
import { TenantsService } from '../tenants/tenants.service';
import type { AuthContext } from './auth-context';
import { LOCAL_ADMIN_ROUTE, PUBLIC_ROUTE, SITE_ADMIN_ROUTE, type AuthenticatedRequest } from './auth.decorators';
import { ForgeTokenVerifier, LOCAL_TRUST, type LocalTrust } from './forge-token.verifier';

export const LOCAL_ADMIN_ACCOUNT = 'local-admin';

/** Every route needs a Forge invocation token (or, in local mode, the local admin token) unless marked @Public(). */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly localToken: Buffer | null;

  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: ForgeTokenVerifier,
    private readonly tenants: TenantsService,
    private readonly confluence: ConfluenceClient,
    config: AppConfig,
    @Optional() @Inject(LOCAL_TRUST) private readonly local: LocalTrust | null,
  ) {
    this.localToken = config.localToken ? Buffer.from(config.localToken) : null;
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const flag = (key: string) => this.reflector.getAllAndOverride<boolean>(key, [ctx.getHandler(), ctx.getClass()]) ?? false;
    if (flag(PUBLIC_ROUTE)) return true;
    const req = ctx.switchToHttp().getRequest<Request & AuthenticatedRequest>();
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new DomainError('UNAUTHENTICATED', 401, 'Sign in first: the request needs an Authorization: Bearer token.');
    const auth = this.isLocalToken(m[1]) ? this.localAdmin() : await this.fromForgeToken(m[1], req);
    req.auth = auth;

    if (flag(LOCAL_ADMIN_ROUTE) && !auth.local) {
      throw new DomainError('FORBIDDEN', 403, 'Only the local admin token may use this local-mode tool.');
    }
    if (flag(SITE_ADMIN_ROUTE) && !auth.local && !(await this.confluence.isSiteAdmin(auth))) {
      throw new DomainError('FORBIDDEN', 403, 'Only a Confluence site admin can do this. Ask a site admin of your Confluence site.');
    }
    return true;
  }

  private isLocalToken(token: string): boolean {
    if (!this.localToken || !this.local) return false;
    const given = Buffer.from(token);
    return given.length === this.localToken.length && timingSafeEqual(given, this.localToken);
  }

  private localAdmin(): AuthContext {
    const t = this.local!.localTenant;
    return { tenantId: t.id, accountId: LOCAL_ADMIN_ACCOUNT, apiBaseUrl: t.apiBaseUrl, local: true, userToken: null, systemToken: t.systemToken, contentId: null, spaceKey: null, siteUrl: null };
  }

  private async fromForgeToken(token: string, req: Request): Promise<AuthContext> {
    const v = await this.verifier.verify(token);
    if (!v.principal) throw new DomainError('UNAUTHENTICATED', 401, 'The request was not made by a signed-in Confluence user.');
    await this.tenants.touch(v.tenantId, v.apiBaseUrl);
    const headerToken = (name: string) => {
      const value = req.headers[name];
      return typeof value === 'string' && value.length > 0 ? value : null;
    };
    return {
      tenantId: v.tenantId,
      accountId: v.principal,
      apiBaseUrl: v.apiBaseUrl,
      local: false,
      userToken: headerToken('x-forge-oauth-user'),
      systemToken: headerToken('x-forge-oauth-system'),
      contentId: v.contentId,
      spaceKey: v.spaceKey,
      siteUrl: v.siteUrl,
    };
  }
}
