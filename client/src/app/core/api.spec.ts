import { describe, expect, it, vi } from 'vitest';
import { ApiFailure, asApiError, withQuery } from './api';
import { LocalSessionStore } from './local-session';
import { FetchTransport, ForgeTransport } from './transports';

const json = (status: number, body: unknown) => new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('transports', () => {
  it('turns an error answer into the ApiError the server sent', async () => {
    const fetchFn = vi.fn(async () => json(502, { code: 'SMTP_AUTH_FAILED', message: 'Wrong password.', details: { smtpCode: 535 } }));
    const t = new FetchTransport({ headers: async () => ({ authorization: 'Bearer x' }) }, 'http://127.0.0.1:3000', fetchFn as typeof fetch);
    const err = await t.request({ method: 'POST', path: '/api/settings/mail/verify', body: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiFailure);
    expect(asApiError(err)).toEqual({ code: 'SMTP_AUTH_FAILED', message: 'Wrong password.', details: { smtpCode: 535 } });
    const [url, init] = fetchFn.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('http://127.0.0.1:3000/api/settings/mail/verify');
    expect((init.headers as Record<string, string>)['authorization']).toBe('Bearer x');
    expect((init.headers as Record<string, string>)['content-type']).toBe('application/json');
  });

  it('gives a sentence for an answer that is not an ApiError, and for no answer at all', async () => {
    const html = new FetchTransport({ headers: async () => ({}) }, 'http://x.test', (async () => new Response('<h1>Bad gateway</h1>', { status: 502 })) as typeof fetch);
    const e1 = asApiError(await html.request({ method: 'GET', path: '/api/me' }).catch((e: unknown) => e));
    expect(e1.code).toBe('INTERNAL_ERROR');
    expect(e1.message).toContain('HTTP 502');
    const down = new FetchTransport({ headers: async () => ({}) }, 'http://x.test', (async () => Promise.reject(new TypeError('fetch failed'))) as typeof fetch);
    const e2 = asApiError(await down.request({ method: 'GET', path: '/api/me' }).catch((e: unknown) => e));
    expect(e2.code).toBe('SERVICE_UNAVAILABLE');
  });

  it('renews the local tokens once after a 401 and retries', async () => {
    let n = 0;
    const fetchFn = vi.fn(async () => (++n === 1 ? json(401, { code: 'UNAUTHENTICATED', message: 'expired' }) : json(200, { ok: 1 })));
    const renew = vi.fn(async () => undefined);
    const t = new FetchTransport({ headers: async () => ({}), renew }, 'http://x.test', fetchFn as typeof fetch);
    expect(await t.request({ method: 'GET', path: '/api/me' })).toEqual({ ok: 1 });
    expect(renew).toHaveBeenCalledTimes(1);
  });

  it('reads invokeRemote answers: the body on success, the ApiError on failure', async () => {
    const invoke = vi.fn(async (input: { path: string }) =>
      input.path === '/api/me' ? { status: 200, headers: {}, body: { accountId: 'a' } } : { status: 403, headers: {}, body: { code: 'FORBIDDEN', message: 'Only members of "writers" may send.' } },
    );
    const t = new ForgeTransport(invoke);
    expect(await t.request({ method: 'GET', path: '/api/me' })).toEqual({ accountId: 'a' });
    const err = asApiError(await t.request({ method: 'POST', path: '/api/mail/send', body: { to: [] }, headers: { 'Idempotency-Key': 'k' } }).catch((e: unknown) => e));
    expect(err).toEqual({ code: 'FORBIDDEN', message: 'Only members of "writers" may send.', details: undefined });
    expect(invoke.mock.calls[1][0]).toEqual({ path: '/api/mail/send', method: 'POST', headers: { accept: 'application/json', 'Idempotency-Key': 'k' }, body: { to: [] } });
  });

  it('refuses a request over the 500 KB invokeRemote limit in words, without sending it', async () => {
    const invoke = vi.fn();
    const t = new ForgeTransport(invoke);
    const err = asApiError(await t.request({ method: 'POST', path: '/api/mail/send', body: { html: 'x'.repeat(600 * 1024) } }).catch((e: unknown) => e));
    expect(err.code).toBe('PAYLOAD_TOO_LARGE');
    expect(invoke).not.toHaveBeenCalled();
  });

  it('builds query strings and leaves out empty values', () => {
    expect(withQuery('/api/audit', { spaceKey: 'DOCS', outcome: '', cursor: null, limit: 50 })).toBe('/api/audit?spaceKey=DOCS&limit=50');
  });
});

describe('local session', () => {
  const session = (accountId: string, expiresIn = 300) => ({ accountId, displayName: accountId, headers: { authorization: `Bearer ${accountId}-token` }, expiresIn, users: [], spaces: [] });

  it('fetches the headers again shortly before they expire', async () => {
    let now = 1_000_000;
    let issued = 0;
    const fetchFn = vi.fn(async (_url: string, init: RequestInit) => {
      issued += 1;
      const body = JSON.parse(String(init.body)) as { accountId?: string };
      return json(200, { ...session(body.accountId ?? 'sandbox-admin', 100), headers: { authorization: `Bearer t${issued}` } });
    });
    const store = new LocalSessionStore('http://x.test', fetchFn as unknown as typeof fetch, () => now);
    await store.start();
    expect(await store.headers()).toEqual({ authorization: 'Bearer t1' });
    now += 70_000;
    expect(await store.headers()).toEqual({ authorization: 'Bearer t1' });
    now += 11_000; // 81 s of 100: inside the last fifth
    expect(await store.headers()).toEqual({ authorization: 'Bearer t2' });
    expect(fetchFn).toHaveBeenCalledTimes(2);
  });

  it('switches to another demo user and remembers the choice', async () => {
    const fetchFn = vi.fn(async (_url: string, init: RequestInit) => json(200, session((JSON.parse(String(init.body)) as { accountId?: string }).accountId ?? 'sandbox-admin')));
    const store = new LocalSessionStore('http://x.test', fetchFn as unknown as typeof fetch);
    await store.start();
    await store.switchTo('bob');
    expect(store.session()?.accountId).toBe('bob');
    expect(localStorage.getItem('mailpage.local.accountId')).toBe('bob');
    expect(await store.headers()).toEqual({ authorization: 'Bearer bob-token' });
    localStorage.clear();
  });
});
