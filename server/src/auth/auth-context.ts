/** Who is calling, taken only from a verified token: never from the request body. */
export interface AuthContext {
  tenantId: string;
  accountId: string;
  /** `app.apiBaseUrl`: where calls back to Confluence go. */
  apiBaseUrl: string;
  /** The local-mode admin token (scripts, tests); never in production. */
  local: boolean;
  /** `x-forge-oauth-user`: calls Confluence as the user. Never logged. */
  userToken: string | null;
  /** `x-forge-oauth-system`: calls Confluence as the app. Never logged. */
  systemToken: string | null;
  /** From the token's `context.extension` where the module gives them. */
  contentId: string | null;
  spaceKey: string | null;
  siteUrl: string | null;
}

export const FORGE_ISSUER = 'forge/invocation-token';

/** `ari:cloud:ecosystem::installation/<uuid>` and a bare `<uuid>` name the same tenant. */
export function normaliseInstallationId(id: string): string | null {
  const m = /^(?:ari:cloud:ecosystem::installation\/)?([A-Za-z0-9-]{1,64})$/.exec(id.trim());
  return m ? m[1].toLowerCase() : null;
}
