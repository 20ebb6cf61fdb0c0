import { createServer } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppConfig } from '../config/app-config';
import { MetricsServer } from './metrics.server';
import { MetricsService } from './metrics.service';

const TOKEN = 'scrape-token-0123456789abcdef';

function logger() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'trace' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}

describe('the metrics listener', () => {
  const started: MetricsServer[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.onApplicationShutdown()));
  });

  async function start(metrics: AppConfig['metrics'], log = logger().log) {
    const server = new MetricsServer(new MetricsService(), { metrics } as AppConfig, log);
    started.push(server);
    await server.onApplicationBootstrap();
    return server;
  }

  it('serves GET and HEAD /metrics in the Prometheus text format, and nothing else', async () => {
    const s = await start({ port: await freePort(), host: '127.0.0.1', token: null });
    const base = `http://127.0.0.1:${s.address!.port}`;
    const res = await fetch(`${base}/metrics?x=1`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.text()).toContain('mailpage_sends_total{outcome="sent"} 0');
    const head = await fetch(`${base}/metrics`, { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([200, '']);
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/api/settings/mail`)).status).toBe(404);
    const post = await fetch(`${base}/metrics`, { method: 'POST' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
  });

  it('asks for the bearer token when one is set', async () => {
    const s = await start({ port: await freePort(), host: '127.0.0.1', token: TOKEN });
    const url = `http://127.0.0.1:${s.address!.port}/metrics`;
    const none = await fetch(url);
    expect([none.status, none.headers.get('www-authenticate')]).toEqual([401, 'Bearer realm="mailpage-metrics"']);
    expect((await fetch(url, { headers: { authorization: `Bearer ${TOKEN}x` } })).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: `Basic ${TOKEN}` } })).status).toBe(401);
    const ok = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('mailpage_smtp_pools_open');
  });

  it('does not listen with port 0', async () => {
    const s = await start({ port: 0, host: '127.0.0.1', token: null });
    expect(s.address).toBeNull();
  });

  it('starts without metrics when the port is taken, and says so in the log', async () => {
    const port = await freePort();
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', r));
    try {
      const { log, lines } = logger();
      const s = await start({ port, host: '127.0.0.1', token: TOKEN }, log);
      expect(s.address).toBeNull();
      expect(lines).toContainEqual(expect.objectContaining({ level: 40, port, code: 'EADDRINUSE', msg: expect.stringContaining('metrics listener could not start') }));
      expect(JSON.stringify(lines)).not.toContain(TOKEN);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it('closes at shutdown even while a scraper keeps its connection alive', async () => {
    const s = await start({ port: await freePort(), host: '127.0.0.1', token: null });
    const port = s.address!.port;
    await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { connection: 'keep-alive' } }).then((r) => r.text());
    const t = Date.now();
    await s.onApplicationShutdown();
    expect(Date.now() - t).toBeLessThan(1000);
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
