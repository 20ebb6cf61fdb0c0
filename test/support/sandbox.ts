import type { AuthContext } from '../../server/src/auth/auth-context';
import { ConfluenceSandbox } from '../../server/src/local/sandbox/confluence-sandbox';
import { DEMO_INSTALLATION_ID } from '../../server/src/local/sandbox/demo-site';

export { ConfluenceSandbox };

/** A started sandbox (the same one local mode runs), for tests that talk to "Confluence" over real HTTP. */
export async function startSandbox(): Promise<ConfluenceSandbox> {
  return new ConfluenceSandbox().start();
}

/**
 * What the auth guard would build for `accountId` from a Forge invocation: the tenant of the demo site, the
 * sandbox's API base, and fresh user and app tokens the sandbox accepts. Override any field (e.g. `systemToken: null`).
 */
export function authFor(sandbox: ConfluenceSandbox, accountId: string, overrides: Partial<AuthContext> = {}): AuthContext {
  return {
    tenantId: DEMO_INSTALLATION_ID,
    accountId,
    apiBaseUrl: sandbox.apiBaseUrl,
    local: false,
    userToken: sandbox.issueUserToken(accountId),
    systemToken: sandbox.issueAppToken(),
    contentId: null,
    spaceKey: null,
    siteUrl: sandbox.origin,
    ...overrides,
  };
}

/** An origin where nothing listens: a port that was free a moment ago. */
export async function deadOrigin(): Promise<string> {
  const { createServer } = await import('node:net');
  const port = await new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  return `http://127.0.0.1:${port}`;
}
