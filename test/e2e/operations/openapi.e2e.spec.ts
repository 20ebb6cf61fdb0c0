import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../support/server';

interface Operation {
  requestBody?: { content: Record<string, { schema: { $ref?: string } }> };
  responses: Record<string, { description: string }>;
  security: unknown[];
}
type Doc = { openapi: string; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, { properties?: Record<string, unknown> }> } };

describe('OpenAPI at /api/docs', () => {
  let server: RunningServer;
  let doc: Doc;
  let text: string;
  beforeAll(async () => {
    server = await startServer({ METRICS_TOKEN: 'openapi-test-metrics-token-0123', METRICS_PORT: '0' });
    const res = await fetch(`${server.url}/api/docs/openapi.json`);
    expect(res.status).toBe(200);
    text = await res.text();
    doc = JSON.parse(text) as Doc;
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('lists every route the application maps, as Nest itself logged them', () => {
    // Nest logs "Mapped {/api/mail/send, POST} route" for each route it registers: an account independent of the generator.
    const mapped = [...server.output().matchAll(/Mapped \{([^,}]+), ([A-Z]+)\} route/g)].map((m) => `${m[2]} ${m[1].replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
    expect(mapped.length).toBeGreaterThan(30);
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual([...new Set(mapped)].sort());
    for (const route of ['POST /api/mail/send', 'GET /api/local/outbox/{id}', 'GET /metrics', 'GET /api/docs/openapi.json', 'GET /healthz']) expect(documented).toContain(route);
  });

  it("describes /api/mail/send's request with to, cc, bcc and encryption, and names its answers", () => {
    const send = doc.paths['/api/mail/send'].post;
    const ref = send.requestBody!.content['application/json'].schema.$ref!;
    const schema = doc.components.schemas[ref.split('/').pop()!];
    expect(Object.keys(schema.properties ?? {})).toEqual(expect.arrayContaining(['to', 'cc', 'bcc', 'encryption']));
    expect(send.requestBody!.content).toHaveProperty(['multipart/form-data']);
    expect([send.responses['200'].description, send.responses['202'].description]).toEqual(['SendResult', 'SendAccepted']);
    expect(doc.paths['/api/settings/mail'].put.requestBody!.content['application/json'].schema.$ref).toBe('#/components/schemas/MailSettingsInput');
  });

  it('is public and read-only, and holds no secret of the running service', async () => {
    expect(doc.openapi).toBe('3.1.0');
    for (const path of ['/api/docs', '/api/docs/openapi.json']) {
      expect((await fetch(`${server.url}${path}`, { method: 'POST' })).status).toBe(404);
      expect((await fetch(`${server.url}${path}`, { method: 'DELETE' })).status).toBe(404);
    }
    const secretKey = readFileSync(join(server.dataDir, 'secret.key'), 'utf8').trim();
    for (const secret of [server.localToken, secretKey, 'openapi-test-metrics-token-0123', server.dataDir, String(server.port)]) expect(text).not.toContain(secret);
    expect(doc.paths['/api/docs'].get.security).toEqual([]);
    expect(doc.paths['/api/settings/mail'].get.security).toEqual([{ forgeInvocationToken: [] }]);
  });

  it('shows the operations as a plain HTML page that loads nothing from elsewhere', async () => {
    const res = await fetch(`${server.url}/api/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.headers.get('content-security-policy')).toBeTruthy();
    const html = await res.text();
    // No script and no CSS: nothing for the API's Content-Security-Policy to block, however strict it is.
    expect(html).not.toMatch(/<style|style=/i);
    for (const path of Object.keys(doc.paths)) expect(html).toContain(`<code>${path}</code>`);
    expect(html).toContain('<a href="/api/docs/openapi.json">');
    expect(html).not.toMatch(/<script|<link|<img|src=|https?:\/\//i);
  });
});
