import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, bearer } from '../../support/api';
import { freePort, startServer, type RunningServer } from '../../support/server';

const TOKEN = 'metrics-token-for-tests-0123456789';
const TITLE = 'Quarterly numbers 7f3a';
const ADDRESS = 'metrics-reader@example.org';

/** Every `series value` line of an exposition, by series (name and labels). */
function samples(text: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    found.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return found;
}

const labelValues = (text: string) => [...text.matchAll(/\w+="([^"]*)"/g)].map((m) => m[1]);

describe('/metrics on its own port', () => {
  let server: RunningServer;
  let metricsPort: number;
  let sent: { status: number; body: { sendId?: string } };
  let failed: { status: number; body: { code?: string } };
  const scrape = async () => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(res.status).toBe(200);
    return res.text();
  };

  beforeAll(async () => {
    metricsPort = await freePort();
    server = await startServer({ METRICS_PORT: String(metricsPort) });
    const api = apiClient(server.url, bearer(server.localToken));
    // Local mode starts out sending to its built-in catcher: this one is delivered.
    sent = await api.post('/api/mail/send', { title: TITLE, html: '<p>Numbers</p>', to: [ADDRESS] });
    // Then the site's mail server is a closed port: nothing can be delivered.
    const closedPort = await freePort();
    const saved = await api.put('/api/settings/mail', { senderName: 'Wiki', senderAddress: 'wiki@example.com', server: { mode: 'custom', host: '127.0.0.1', port: closedPort, security: 'none' } });
    expect(saved.status).toBe(200);
    failed = await api.post('/api/mail/send', { title: TITLE, html: '<p>Numbers</p>', to: [ADDRESS] });
    await api.get('/api/pages/163845/attachments');
    await fetch(`${server.url}/api/no-such-route/12345`);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('counts exactly one sent and one failed send (needs MailService to report to MetricsService)', async () => {
    expect([sent.status, failed.status, failed.body.code]).toEqual([200, 502, 'SMTP_CONNECT_FAILED']);
    const s = samples(await scrape());
    expect(s.get('mailpage_sends_total{outcome="sent"}')).toBe(1);
    expect(s.get('mailpage_sends_total{outcome="failed"}')).toBe(1);
    expect(s.get('mailpage_sends_total{outcome="unknown"}')).toBe(0);
    expect(s.get('mailpage_sends_total{outcome="refused"}')).toBe(0);
    expect(s.get('mailpage_send_duration_seconds_count')).toBe(2);
  });

  it('counts the failed send under its SMTP error code, and the pools it opened', async () => {
    const s = samples(await scrape());
    expect(s.get('mailpage_smtp_errors_total{code="SMTP_CONNECT_FAILED"}')).toBe(1);
    expect([...s.keys()].filter((k) => k.startsWith('mailpage_smtp_errors_total{'))).toEqual(['mailpage_smtp_errors_total{code="SMTP_CONNECT_FAILED"}']);
    // The catcher's pool and the closed port's: one per mail server configuration.
    expect(s.get('mailpage_smtp_pools_open')).toBe(2);
  });

  it('counts HTTP requests under the route pattern, never the raw path', async () => {
    const s = samples(await scrape());
    expect(s.get('mailpage_http_requests_total{method="POST",route="/api/mail/send",status="200"}')).toBe(1);
    expect(s.get('mailpage_http_requests_total{method="POST",route="/api/mail/send",status="502"}')).toBe(1);
    expect(s.get('mailpage_http_requests_total{method="PUT",route="/api/settings/mail",status="200"}')).toBe(1);
    expect(s.get('mailpage_http_requests_total{method="GET",route="/api/pages/:pageId/attachments",status="200"}')).toBe(1);
    expect(s.get('mailpage_http_requests_total{method="GET",route="unmatched",status="404"}')).toBeGreaterThanOrEqual(1);
    const routes = [...s.keys()].flatMap((k) => /route="([^"]*)"/.exec(k)?.[1] ?? []);
    expect(routes.filter((r) => /\d{3,}|no-such-route/.test(r))).toEqual([]);
  });

  it('times Confluence calls per endpoint', async () => {
    const s = samples(await scrape());
    expect(s.get('mailpage_confluence_request_duration_seconds_count{endpoint="attachments"}')).toBe(1);
  });

  it('has the process metrics with the mailpage_ prefix', async () => {
    const s = samples(await scrape());
    expect(s.get('mailpage_process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(s.get('mailpage_nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
  });

  it('puts no tenant, user, address, title or id in any label', async () => {
    const labels = labelValues(await scrape()).join('\n');
    const tenant = (await apiClient(server.url, bearer(server.localToken)).get('/api/me')).body.tenantId as string;
    expect(tenant).toBeTruthy();
    for (const secret of [tenant, 'local-admin', ADDRESS, 'example.org', TITLE, '163845', sent.body.sendId!, server.localToken]) expect(labels).not.toContain(secret);
  });

  it('is not served on the API port without a token, and the metrics port serves nothing else', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/api/settings/mail`, { headers: bearer(server.localToken) })).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});

describe('a send refused by a rate limit', () => {
  it('is counted as refused, not as failed (needs MailService to report to MetricsService)', async () => {
    const metricsPort = await freePort();
    const server = await startServer({ METRICS_PORT: String(metricsPort), SEND_RATE_LIMIT_PER_USER: '1' });
    try {
      const api = apiClient(server.url, bearer(server.localToken));
      expect((await api.post('/api/mail/send', { title: TITLE, html: '<p>1</p>', to: [ADDRESS] })).status).toBe(200);
      expect((await api.post('/api/mail/send', { title: TITLE, html: '<p>2</p>', to: [ADDRESS] })).status).toBe(429);
      const s = samples(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
      expect([s.get('mailpage_sends_total{outcome="sent"}'), s.get('mailpage_sends_total{outcome="refused"}'), s.get('mailpage_sends_total{outcome="failed"}')]).toEqual([1, 1, 0]);
      expect(s.get('mailpage_send_duration_seconds_count')).toBe(1);
    } finally {
      await server.stop();
    }
  });
});

describe('/metrics with METRICS_TOKEN', () => {
  let server: RunningServer;
  let metricsPort: number;
  beforeAll(async () => {
    metricsPort = await freePort();
    server = await startServer({ METRICS_PORT: String(metricsPort), METRICS_TOKEN: TOKEN });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('needs the token on the metrics port and answers with it on the API port too', async () => {
    for (const url of [`http://127.0.0.1:${metricsPort}/metrics`, `${server.url}/metrics`]) {
      expect((await fetch(url)).status).toBe(401);
      expect((await fetch(url, { headers: bearer(server.localToken) })).status).toBe(401);
      const ok = await fetch(url, { headers: bearer(TOKEN) });
      expect([url, ok.status]).toEqual([url, 200]);
      expect(ok.headers.get('content-type')).toContain('text/plain; version=0.0.4');
      expect(await ok.text()).toContain('mailpage_sends_total{outcome="sent"}');
    }
  });

  it('never writes the token to the log', async () => {
    await fetch(`${server.url}/metrics`, { headers: bearer(TOKEN) });
    expect(server.output()).not.toContain(TOKEN);
  });
});

describe('/metrics turned off', () => {
  it('listens on no extra port with METRICS_PORT=0', async () => {
    const server = await startServer({ METRICS_PORT: '0' });
    try {
      expect(server.output()).not.toContain('metrics listening');
      expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
    } finally {
      await server.stop();
    }
  });
});
