import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { AuthContext } from './auth-context';

export const PUBLIC_ROUTE = 'mailpage:public';
export const SITE_ADMIN_ROUTE = 'mailpage:site-admin';
export const LOCAL_ADMIN_ROUTE = 'mailpage:local-admin';

/** No Forge token needed (health checks; the lifecycle route checks its own token). */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);
/** Only a site admin of the calling tenant, checked against Confluence (or the local admin token). */
export const SiteAdmin = () => SetMetadata(SITE_ADMIN_ROUTE, true);
/** Only the local admin token: local-mode tools such as the outbox. */
export const LocalAdmin = () => SetMetadata(LOCAL_ADMIN_ROUTE, true);

export interface AuthenticatedRequest {
  auth?: AuthContext;
}

export const Auth = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthContext => {
  const auth = ctx.switchToHttp().getRequest<AuthenticatedRequest>().auth;
  if (!auth) throw new Error('Auth() used on a route without authentication');
  return auth;
});
