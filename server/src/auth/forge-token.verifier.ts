import { Inject, Injectable, Optional } from '@nestjs/common';
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { AppConfig } from '../config/app-config';
import { DomainError } from '../common/domain-error';
import { FORGE_ISSUER, normaliseInstallationId } from './auth-context';

/** Extra trust that only local mode provides: the sandbox's key set, app id and API origin. */
export interface LocalTrust {
  keys: JWTVerifyGetKey;
  appId: string;
  apiOrigin: string;
  /** The tenant the local admin token acts in: the sandbox's demo site. */
  localTenant: { id: string; apiBaseUrl: string; systemToken: string };
}
export const LOCAL_TRUST = Symbol('LOCAL_TRUST');

const claimsSchema = z.object({
  app: z.object({
    installationId: z.string().min(1),
    apiBaseUrl: z.string().url(),
    id: z.string().optional(),
  }),
  principal: z.string().min(1).max(128).optional(),
  context: z
    .object({
      siteUrl: z.string().optional(),
      extension: z
        .object({
          content: z.object({ id: z.union([z.string(), z.number()]).optional() }).partial().optional(),
          space: z.object({ key: z.string().optional() }).partial().optional(),
        })
        .partial()
        .optional(),
    })
    .partial()
    .optional(),
});

export interface VerifiedInvocation {
  tenantId: string;
  apiBaseUrl: string;
  principal: string | null;
  contentId: string | null;
  spaceKey: string | null;
  siteUrl: string | null;
}

const unauthenticated = (why: string) => new DomainError('UNAUTHENTICATED', 401, `The request's token was refused: ${why}.`);

/** Verifies Forge Invocation Tokens: RS256, issuer, audience = our app id, exp/nbf with a small skew. */
@Injectable()
export class ForgeTokenVerifier {
  private readonly remote: JWTVerifyGetKey | null;
  private readonly audiences: string[];

  constructor(
    private readonly config: AppConfig,
    @Optional() @Inject(LOCAL_TRUST) private readonly local: LocalTrust | null,
  ) {
    this.remote = config.forge.jwksUrl
      ? createRemoteJWKSet(new URL(config.forge.jwksUrl), { timeoutDuration: 5000, cooldownDuration: 30_000, cacheMaxAge: 600_000 })
      : null;
    this.audiences = [...config.forge.appIds, ...(local ? [local.appId] : [])];
  }

  async verify(token: string): Promise<VerifiedInvocation> {
    if (!this.audiences.length) throw unauthenticated('no Forge app id is configured (FORGE_APP_ID)');
    const getKey: JWTVerifyGetKey = async (header, input) => {
      if (this.local) {
        try {
          return await this.local.keys(header, input);
        } catch (e) {
          if (!(e instanceof errors.JWKSNoMatchingKey) || !this.remote) throw e;
        }
      }
      if (!this.remote) throw new errors.JWKSNoMatchingKey();
      return this.remote(header, input);
    };
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        issuer: FORGE_ISSUER,
        audience: this.audiences,
        algorithms: ['RS256'],
        clockTolerance: 10,
        requiredClaims: ['exp', 'iat'],
      }));
    } catch (e) {
      throw unauthenticated(describeJoseError(e));
    }
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) throw unauthenticated('it lacks the app claims of a Forge invocation token');
    const { app, principal, context } = claims.data;
    const tenantId = normaliseInstallationId(app.installationId);
    if (!tenantId) throw unauthenticated('its installation id is malformed');
    if (!this.isTrustedApiBase(app.apiBaseUrl)) throw unauthenticated('its API base URL is not an Atlassian API host');
    const contentId = context?.extension?.content?.id;
    return {
      tenantId,
      apiBaseUrl: app.apiBaseUrl.replace(/\/+$/, ''),
      principal: principal ?? null,
      contentId: contentId === undefined ? null : String(contentId),
      spaceKey: context?.extension?.space?.key ?? null,
      siteUrl: context?.siteUrl ?? null,
    };
  }

  private isTrustedApiBase(url: string): boolean {
    const u = new URL(url);
    // Local mode trusts its sandbox and any loopback host (a test's own sandbox); production only Atlassian's hosts.
    if (this.local && (u.origin === this.local.apiOrigin || (u.protocol === 'http:' && u.hostname === '127.0.0.1'))) return true;
    return u.protocol === 'https:' && !u.username && !u.password && this.config.forge.apiHosts.includes(u.hostname.toLowerCase());
  }
}

function describeJoseError(e: unknown): string {
  if (e instanceof errors.JWTExpired) return 'it has expired';
  if (e instanceof errors.JWTClaimValidationFailed) {
    if (e.claim === 'aud') return 'it was issued for another app';
    if (e.claim === 'iss') return 'it was not issued by the Forge platform';
    if (e.claim === 'nbf') return 'it is not valid yet';
    return `its ${e.claim} claim is invalid`;
  }
  if (e instanceof errors.JOSEAlgNotAllowed) return 'it is not signed with RS256';
  if (e instanceof errors.JWKSNoMatchingKey) return 'it is signed by a key the service does not trust';
  if (e instanceof errors.JWSSignatureVerificationFailed) return 'its signature does not verify';
  if (e instanceof errors.JWKSTimeout) return 'the Forge key set could not be fetched in time';
  return 'it is not a valid Forge invocation token';
}
