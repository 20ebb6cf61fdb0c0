import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as forgeManifest from '@forge/manifest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = process.cwd();
const MANIFEST = join(ROOT, 'forge/manifest.yml');

type Module = { key: string; resource?: string; resolver?: { endpoint?: string }; route?: string | { path: string }; auth?: Record<string, { enabled: boolean }> };

/**
 * The Forge CLI validates the manifest with the @forge/manifest package before it deploys; this runs the same full
 * validation (schema, module keys, scopes, remotes, resources), so a broken manifest fails here rather than at deploy.
 * The validator wants the Custom UI folder to exist with an index.html, so it runs on a copy of the layout
 * (forge/ next to client/dist/mailpage/browser) in a temporary directory: no Angular build needed.
 */
describe('forge/manifest.yml', () => {
  let dir: string;
  let content: Record<string, any>;

  const layout = (manifestText: string): string => {
    const d = mkdtempSync(join(tmpdir(), 'mailpage-forge-'));
    mkdirSync(join(d, 'forge'));
    writeFileSync(join(d, 'forge/manifest.yml'), manifestText);
    mkdirSync(join(d, 'client/dist/mailpage/browser'), { recursive: true });
    writeFileSync(join(d, 'client/dist/mailpage/browser/index.html'), '<!doctype html><html><head><base href="./"></head><body><app-root></app-root></body></html>');
    return d;
  };

  beforeAll(async () => {
    dir = layout(readFileSync(MANIFEST, 'utf8'));
    const result = await forgeManifest.validate(false, join(dir, 'forge/manifest.yml'));
    expect(result.errors ?? []).toEqual([]);
    expect(result.success).toBe(true);
    content = result.manifestObject!.typedContent as Record<string, any>;
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('passes the full validation of the @forge/manifest package', () => {
    expect(content.app.id).toMatch(/^ari:cloud:ecosystem::app\//);
  });

  it('has the send dialog, the global settings page and the space settings page, all served by the Angular build', () => {
    const modules = content.modules as Record<string, Module[]>;
    const ui = [...modules['confluence:contentAction'], ...modules['confluence:globalSettings'], ...modules['confluence:spaceSettings']];
    expect(ui.map((m) => m.key)).toEqual(['send-page', 'settings', 'space-settings']);
    for (const m of ui) expect([m.resource, m.resolver?.endpoint]).toEqual(['ui', 'api']);
    expect(modules['confluence:spaceSettings'][0].route).toMatch(/^[0-9a-z-]+$/);
    expect(content.resources).toEqual([{ key: 'ui', path: '../client/dist/mailpage/browser' }]);
    expect(resolve(ROOT, 'forge', content.resources[0].path)).toBe(join(ROOT, 'client/dist/mailpage/browser'));
  });

  it('calls the remote with both OAuth tokens, and the lifecycle events on /forge/lifecycle as the app', () => {
    const endpoints = Object.fromEntries((content.modules.endpoint as Module[]).map((e) => [e.key, e]));
    expect(endpoints.api.auth).toEqual({ appUserToken: { enabled: true }, appSystemToken: { enabled: true } });
    expect(endpoints.lifecycle.route).toEqual({ path: '/forge/lifecycle' });
    expect(endpoints.lifecycle.auth).toEqual({ appSystemToken: { enabled: true } });
    expect(content.modules.trigger).toEqual([{ key: 'app-lifecycle', endpoint: 'lifecycle', events: ['avi:forge:installed:app', 'avi:forge:upgraded:app'] }]);
    expect(content.remotes).toEqual([{ key: 'mailpage', baseUrl: 'https://mailpage.example.com', operations: ['compute', 'storage'], storage: { inScopeEUD: true } }]);
  });

  it('asks for the token scopes and read scopes only, and allows inline styles', () => {
    const scopes = content.permissions.scopes as string[];
    expect(scopes).toEqual(expect.arrayContaining(['read:app-user-token', 'read:app-system-token']));
    expect(scopes.filter((s) => !/^read(only)?:/.test(s))).toEqual([]);
    expect(content.permissions.content).toEqual({ styles: ['unsafe-inline'] });
  });

  it('would be refused by the validator if it were broken (the check is not vacuous)', async () => {
    const broken = readFileSync(MANIFEST, 'utf8').replace(/^\s+route: mailpage\n/m, '');
    expect(broken).not.toContain('route: mailpage');
    const d = layout(broken);
    try {
      const result = await forgeManifest.validate(false, join(d, 'forge/manifest.yml'));
      expect(result.success).toBe(false);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('comes with a README that walks an operator through deploying it', () => {
    const readme = readFileSync(join(ROOT, 'forge/README.md'), 'utf8');
    for (const step of ['forge register', 'forge deploy', 'forge install', 'baseUrl', 'FORGE_APP_ID']) expect(readme).toContain(step);
  });
});
