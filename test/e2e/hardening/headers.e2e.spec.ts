import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { securityHeaders } from '../../../server/src/main';
import { apiClient, bearer } from '../../support/api';
import { ROOT, startServer, type RunningServer } from '../../support/server';

const CLIENT_BUILT = existsSync(join(ROOT, 'client/dist/mailpage/browser/index.html'));

/** The Content-Security-Policy of a response, as directive → sources. */
function csp(headers: Headers): Record<string, string> {
  const value = headers.get('content-security-policy') ?? '';
  return Object.fromEntries(
    value
      .split(';')
      .map((d) => d.trim())
      .filter(Boolean)
      .map((d) => {
        const [name, ...sources] = d.split(/\s+/);
        return [name, sources.join(' ')];
      }),
  );
}

const APP_POLICY = {
  'default-src': "'self'",
  'base-uri': "'self'",
  'script-src': "'self'",
  'script-src-attr': "'none'",
  'style-src': "'self' 'unsafe-inline'",
  'img-src': "'self' data:",
  'font-src': "'self' data:",
  'connect-src': "'self'",
  'form-action': "'self'",
  'frame-ancestors': "'self'",
  'object-src': "'none'",
};
const API_POLICY = { 'default-src': "'none'", 'frame-ancestors': "'none'" };

/** helmet's other headers, the same on every response. */
function expectHelmetDefaults(h: Headers): void {
  expect(h.get('x-content-type-options')).toBe('nosniff');
  expect(h.get('referrer-policy')).toBe('no-referrer');
  expect(h.get('cross-origin-opener-policy')).toBe('same-origin');
  expect(h.get('cross-origin-resource-policy')).toBe('same-origin');
  expect(h.get('x-dns-prefetch-control')).toBe('off');
  expect(h.get('x-permitted-cross-domain-policies')).toBe('none');
  expect(h.get('origin-agent-cluster')).toBe('?1');
  expect(h.get('x-xss-protection')).toBe('0');
  expect(h.get('x-powered-by')).toBeNull();
}

describe('hardening: security headers in local mode', () => {
  let server: RunningServer;
  let api: ReturnType<typeof apiClient>;
  beforeAll(async () => {
    server = await startServer({ MAIL_MAX_BYTES: String(1024 * 1024) });
    api = apiClient(server.url, bearer(server.localToken));
  });
  afterAll(async () => server?.stop());

  it.skipIf(!CLIENT_BUILT)('serves the app with a policy it runs under (the browser tests check that it does), and no HSTS over HTTP', async () => {
    for (const path of ['/', '/index.html']) {
      const r = await fetch(`${server.url}${path}`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^text\/html/);
      expect(csp(r.headers)).toEqual(APP_POLICY);
      expect(r.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(r.headers.get('strict-transport-security')).toBeNull();
      expectHelmetDefaults(r.headers);
    }
    const html = await (await fetch(`${server.url}/`)).text();
    // What the policy allows is what the build needs: no inline script and no inline event handler.
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/i);
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
  });

  it('answers every /api response, errors included, with no-store and a policy that loads and frames nothing', async () => {
    const big = JSON.stringify({ title: 'x', html: 'x'.repeat(3 * 1024 * 1024), to: ['a@example.com'] });
    const responses = [
      await api.get('/api/settings/mail'),
      await api.post('/api/mail/send', { title: 'x' }),
      await api.get('/api/no-such-thing'),
      await apiClient(server.url, {}).get('/api/settings/mail'),
      await api.post('/api/mail/send', JSON.parse(big)),
    ];
    expect(responses.map((r) => r.status)).toEqual([200, 400, 404, 401, 413]);
    for (const r of responses) {
      expect(r.headers.get('cache-control'), r.text).toBe('no-store');
      expect(csp(r.headers)).toEqual(API_POLICY);
      expect(r.headers.get('x-frame-options')).toBe('DENY');
      expect(r.headers.get('strict-transport-security')).toBeNull();
      expect(r.headers.get('content-type')).toMatch(/^application\/json/);
      expectHelmetDefaults(r.headers);
    }
  });

  it('keeps the health checks out of the app policy’s way and out of caches', async () => {
    const r = await fetch(`${server.url}/readyz`);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(csp(r.headers)['default-src']).toBeDefined();
  });
});

describe('hardening: security headers in production mode', () => {
  // The production server needs MySQL/MariaDB; the same middleware is checked in process on a bare HTTP server.
  let http: Server;
  let url: string;
  beforeAll(async () => {
    const headers = securityHeaders({ mode: 'production' });
    http = createServer((req, res) =>
      headers(req, res, () => {
        res.setHeader('content-type', 'application/json');
        res.end('{}');
      }),
    );
    url = await new Promise<string>((r) => http.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(http.address() as { port: number }).port}`)));
  });
  afterAll(() => new Promise<void>((r) => http.close(() => r())));

  it('adds HSTS for a year with subdomains, on the app and the API', async () => {
    for (const path of ['/', '/api/settings/mail', '/api?x=1']) {
      const r = await fetch(`${url}${path}`);
      expect(r.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
      expectHelmetDefaults(r.headers);
    }
  });

  it('upgrades the app’s insecure requests, and keeps the API policy to nothing at all', async () => {
    expect(csp((await fetch(`${url}/`)).headers)).toEqual({ ...APP_POLICY, 'upgrade-insecure-requests': '' });
    expect(csp((await fetch(`${url}/api/mail/send`)).headers)).toEqual(API_POLICY);
    // A path that merely starts with "api" is the app's.
    expect(csp((await fetch(`${url}/apiary`)).headers)).toEqual({ ...APP_POLICY, 'upgrade-insecure-requests': '' });
  });
});
