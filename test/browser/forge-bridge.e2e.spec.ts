import { describe, expect, it } from 'vitest';
import { screenshot, useBrowserRig } from './browser';

/**
 * Plays the Forge platform in the page: `window.__bridge.callBridge` as Custom UI gets it, answering getContext with
 * the module's context and `invoke` (invokeRemote) by calling the service with sandbox tokens for `accountId`, in the
 * `{ success, payload: { status, headers, body } }` shape the bridge resolves with. Every invocation is recorded.
 */
function fakeBridge(context: object, accountId: string): string {
  return `(() => {
    const context = ${JSON.stringify(context)};
    const calls = [];
    window.__invocations = calls;
    window.__closed = false;
    async function headers() {
      const r = await fetch('/api/local/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accountId: ${JSON.stringify(accountId)} }) });
      return (await r.json()).headers;
    }
    window.__bridge = {
      callBridge: async (name, payload) => {
        if (name === 'enableTheming') { document.documentElement.setAttribute('data-color-mode', 'light'); return; }
        if (name === 'getContext') return context;
        if (name === 'close') { window.__closed = true; return true; }
        if (name === 'invoke') {
          calls.push(payload);
          const init = { method: payload.method, headers: { ...(await headers()), ...(payload.headers || {}) } };
          if (payload.body !== undefined) { init.body = JSON.stringify(payload.body); init.headers['content-type'] = 'application/json'; }
          const r = await fetch(payload.path, init);
          const text = await r.text();
          return { success: true, payload: { status: r.status, headers: {}, body: text ? JSON.parse(text) : undefined } };
        }
        throw new Error('The fake bridge does not know ' + name);
      },
    };
  })();`;
}

const SEND_CONTEXT = {
  accountId: 'alice',
  cloudId: 'c10ud',
  siteUrl: 'https://example.atlassian.net',
  moduleKey: 'send-page',
  localId: 'x',
  locale: 'en-US',
  timezone: 'UTC',
  environmentId: 'e',
  environmentType: 'DEVELOPMENT',
  extension: { type: 'confluence:contentAction', content: { id: '163845', type: 'page' }, space: { key: 'DOCS', id: '163841' } },
};

describe('inside Confluence (a simulated Forge bridge)', () => {
  const rig = useBrowserRig({ senderName: 'Docs', subjectPrefix: '' });

  it('opens the send dialog for the page in the context and sends through invokeRemote, once, with an idempotency key', async () => {
    const { page, errors } = await rig.open();
    await page.addInitScript(fakeBridge(SEND_CONTEXT, 'alice'));
    await page.goto(`${rig.server.url}/`);
    const to = page.getByRole('combobox', { name: 'To', exact: true });
    await to.waitFor();
    expect(await page.locator('mp-local-bar').count()).toBe(0);
    await to.fill('ann@example.org');
    await to.press('Enter');
    await page.getByRole('checkbox', { name: /checklist\.txt/ }).check();
    const send = page.getByRole('button', { name: 'Send', exact: true });
    await send.dblclick();
    await page.locator('[data-result] .banner-success').waitFor({ timeout: 30_000 });
    await screenshot(page, 'confluence-send-dialog');

    const calls = (await page.evaluate('window.__invocations')) as { path: string; method: string; headers?: Record<string, string>; body?: any }[];
    const sends = calls.filter((c) => c.path === '/api/mail/send');
    expect(sends).toHaveLength(1);
    expect(sends[0].method).toBe('POST');
    expect(sends[0].headers?.['Idempotency-Key']).toMatch(/^[0-9a-f-]{36}$/);
    expect(sends[0].body).toMatchObject({ pageId: '163845', spaceKey: 'DOCS', to: ['ann@example.org'], attachmentIds: [expect.any(String)] });
    expect(calls.map((c) => c.path)).toContain('/api/pages/163845/attachments');
    expect(rig.smtp.mails).toHaveLength(1);

    await page.getByRole('button', { name: 'Close' }).click();
    expect(await page.evaluate('window.__closed')).toBe(true);
    expect(errors).toEqual([]);
  });

  it('opens the space settings for the space in the context', async () => {
    const { page, errors } = await rig.open();
    await page.addInitScript(fakeBridge({ ...SEND_CONTEXT, moduleKey: 'space-settings', extension: { space: { key: 'DOCS', id: '163841' } } }, 'alice'));
    await page.goto(`${rig.server.url}/`);
    await page.getByRole('heading', { name: 'Mailpage in space DOCS' }).waitFor();
    await page.locator('form[data-space-permissions]').waitFor();
    expect(page.url()).toContain('#/space/DOCS');
    await screenshot(page, 'confluence-space-settings');
    expect(errors).toEqual([]);
  });
});
