import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../common/domain-error';
import { MetricsService } from './metrics.service';

/** The value of one sample in the exposition text, or undefined when there is no such line. */
async function sample(m: MetricsService, series: string): Promise<number | undefined> {
  const line = (await m.render()).body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const settle = () => new Promise((r) => setImmediate(r));

describe('MetricsService', () => {
  it('counts a delivered send as sent and a failed one as failed, with their durations', async () => {
    const m = new MetricsService();
    m.sendDelivering(Promise.resolve({ sendId: 'x' }), Date.now() - 1500);
    m.sendDelivering(Promise.reject(new DomainError('SMTP_CONNECT_FAILED', 502, 'refused')), Date.now());
    await settle();
    expect(await sample(m, 'mailpage_sends_total{outcome="sent"}')).toBe(1);
    expect(await sample(m, 'mailpage_sends_total{outcome="failed"}')).toBe(1);
    expect(await sample(m, 'mailpage_sends_total{outcome="unknown"}')).toBe(0);
    expect(await sample(m, 'mailpage_send_duration_seconds_count')).toBe(2);
    expect(await sample(m, 'mailpage_send_duration_seconds_bucket{le="1"}')).toBe(1);
    expect(await sample(m, 'mailpage_send_duration_seconds_bucket{le="2"}')).toBe(2);
  });

  it('counts a connection lost after the message went out as unknown', async () => {
    const m = new MetricsService();
    m.sendDelivering(Promise.reject(new DomainError('SMTP_OUTCOME_UNKNOWN', 502, 'lost')), Date.now());
    await settle();
    expect(await sample(m, 'mailpage_sends_total{outcome="unknown"}')).toBe(1);
    expect(await sample(m, 'mailpage_sends_total{outcome="failed"}')).toBe(0);
  });

  it('does not turn a failed delivery into an unhandled rejection', async () => {
    const m = new MetricsService();
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const delivery = Promise.reject(new Error('boom'));
      m.sendDelivering(delivery, Date.now());
      await delivery.catch(() => undefined);
      await settle();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
    expect(await sample(m, 'mailpage_sends_total{outcome="failed"}')).toBe(1);
  });

  it('counts refusals by permission, rate limit and quota, and nothing else, as refused', async () => {
    const m = new MetricsService();
    m.sendRefused(new DomainError('FORBIDDEN', 403, 'no'));
    m.sendRefused('RATE_LIMITED');
    m.sendRefused(new DomainError('QUOTA_EXCEEDED', 429, 'quota'));
    m.sendRefused(new DomainError('VALIDATION_FAILED', 400, 'bad'));
    m.sendRefused(new Error('database gone'));
    expect(await sample(m, 'mailpage_sends_total{outcome="refused"}')).toBe(3);
    expect(await sample(m, 'mailpage_send_duration_seconds_count')).toBe(0);
  });

  it('starts every outcome at zero, so a rate can be taken from the first scrape', async () => {
    const m = new MetricsService();
    for (const outcome of ['sent', 'failed', 'unknown', 'refused']) expect(await sample(m, `mailpage_sends_total{outcome="${outcome}"}`)).toBe(0);
  });

  it('counts SMTP errors by our error code, and anything unknown as INTERNAL_ERROR', async () => {
    const m = new MetricsService();
    m.smtpError(new DomainError('SMTP_AUTH_FAILED', 502, 'auth'));
    m.smtpError(new DomainError('SMTP_AUTH_FAILED', 502, 'auth'));
    m.smtpError(Object.assign(new Error('x'), { code: 'ECONNRESET ann@example.com' }));
    m.smtpError('not an error');
    expect(await sample(m, 'mailpage_smtp_errors_total{code="SMTP_AUTH_FAILED"}')).toBe(2);
    expect(await sample(m, 'mailpage_smtp_errors_total{code="INTERNAL_ERROR"}')).toBe(2);
    expect((await m.render()).body).not.toContain('ann@example.com');
  });

  it('reports the open SMTP pools of every source at scrape time', async () => {
    const m = new MetricsService();
    let open = 2;
    const remove = m.countSmtpPools(() => open);
    m.countSmtpPools(() => 1);
    expect(await sample(m, 'mailpage_smtp_pools_open')).toBe(3);
    open = 0;
    expect(await sample(m, 'mailpage_smtp_pools_open')).toBe(1);
    remove();
    expect(await sample(m, 'mailpage_smtp_pools_open')).toBe(1);
  });

  it('times Confluence calls per endpoint', async () => {
    const m = new MetricsService();
    const done = m.timeConfluence('page');
    await new Promise((r) => setTimeout(r, 20));
    done();
    m.timeConfluence('attachments')();
    expect(await sample(m, 'mailpage_confluence_request_duration_seconds_count{endpoint="page"}')).toBe(1);
    expect(await sample(m, 'mailpage_confluence_request_duration_seconds_count{endpoint="attachments"}')).toBe(1);
    expect(await sample(m, 'mailpage_confluence_request_duration_seconds_sum{endpoint="page"}')).toBeGreaterThanOrEqual(0.015);
  });

  it('labels HTTP requests with the matched route pattern, and unmatched ones as such', async () => {
    const m = new MetricsService();
    const request = (req: { method: string; route?: { path: string }; baseUrl?: string }, status: number) => {
      const res = Object.assign(new EventEmitter(), { statusCode: status });
      let called = false;
      m.httpMiddleware(req, res, () => (called = true));
      expect(called).toBe(true);
      res.emit('finish');
      res.emit('finish');
    };
    request({ method: 'GET', route: { path: '/api/pages/:pageId/attachments' } }, 200);
    request({ method: 'GET', route: { path: '/api/pages/:pageId/attachments' } }, 403);
    request({ method: 'post', route: { path: '/send' }, baseUrl: '/api/mail' }, 502);
    request({ method: 'GET' }, 404);
    request({ method: 'PROPFIND' }, 404);
    expect(await sample(m, 'mailpage_http_requests_total{method="GET",route="/api/pages/:pageId/attachments",status="200"}')).toBe(1);
    expect(await sample(m, 'mailpage_http_requests_total{method="GET",route="/api/pages/:pageId/attachments",status="403"}')).toBe(1);
    expect(await sample(m, 'mailpage_http_requests_total{method="POST",route="/api/mail/send",status="502"}')).toBe(1);
    expect(await sample(m, 'mailpage_http_requests_total{method="GET",route="unmatched",status="404"}')).toBe(1);
    expect(await sample(m, 'mailpage_http_requests_total{method="OTHER",route="unmatched",status="404"}')).toBe(1);
  });

  it('has process metrics with the mailpage_ prefix, in a registry of its own', async () => {
    const a = new MetricsService();
    const b = new MetricsService();
    a.sendRefused('FORBIDDEN');
    expect(await sample(b, 'mailpage_sends_total{outcome="refused"}')).toBe(0);
    const text = (await a.render()).body;
    expect(text).toMatch(/^mailpage_process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^mailpage_nodejs_heap_size_used_bytes \d/m);
    expect(text).not.toMatch(/^process_cpu_user_seconds_total/m);
    expect((await a.render()).contentType).toContain('text/plain');
  });
});
