import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import PostalMime from 'postal-mime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, bearer } from '../support/api';
import { ROOT, startServer, type RunningServer } from '../support/server';

const SCREENSHOT = join(ROOT, 'test-output/screenshots/macros.png');

/**
 * The sandbox's "Macro gallery" page (163860) sent as mail in local mode, read back from the local outbox and shown in
 * Chromium the way a mail client shows it: inline images from their parts, nothing from the network.
 */
describe('a page full of Confluence macros, as the recipient sees it', () => {
  let server: RunningServer;
  let browser: Browser;
  beforeAll(async () => {
    server = await startServer();
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('shows every macro as static, readable content, with the SVG diagram as a PNG', async () => {
    const r = await fetch(`${server.url}/api/local/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accountId: 'alice' }) });
    expect(r.status).toBe(200);
    const alice = apiClient(server.url, ((await r.json()) as { headers: Record<string, string> }).headers);
    const sent = await alice.post('/api/mail/send', { pageId: '163860', spaceKey: 'DOCS', to: ['x@example.org'] });
    expect(sent.status).toBe(200);

    const admin = apiClient(server.url, bearer(server.localToken));
    const outbox = await admin.get('/api/local/outbox');
    expect(outbox.status).toBe(200);
    const caught = outbox.body.find((m: { envelope: { to: string[] } }) => m.envelope.to.includes('x@example.org'));
    const raw = await (await fetch(`${server.url}/api/local/outbox/${caught.id}`, { headers: bearer(server.localToken) })).arrayBuffer();
    const mail = await PostalMime.parse(raw);
    expect(mail.subject).toMatch(/Macro gallery$/);

    // The diagram went in as SVG and comes out as PNG; no other image (the Jira icon is remote) is in the mail.
    expect(mail.attachments.map((a) => [a.filename, a.mimeType, a.disposition])).toEqual([['release-flow.png', 'image/png', 'inline']]);
    let html = mail.html!;
    expect(html).not.toMatch(/<script|<iframe|<form|<input|expand-hidden|aui-tabs|jira\.example\.com\/secure/);
    for (const part of mail.attachments) {
      const cid = part.contentId!.replace(/^<|>$/g, '');
      html = html.split(`cid:${cid}`).join(`data:${part.mimeType};base64,${Buffer.from(part.content as ArrayBuffer).toString('base64')}`);
    }
    expect(html).not.toContain('cid:');

    const context = await browser.newContext({ viewport: { width: 900, height: 900 }, javaScriptEnabled: false });
    const page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (req) => {
      if (!req.url().startsWith('data:')) requests.push(req.url());
    });
    await page.setContent(html, { waitUntil: 'load' });
    mkdirSync(join(ROOT, 'test-output/screenshots'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT) && statSync(SCREENSHOT).size).toBeGreaterThan(10_000);

    const shown = (await page.evaluate(() => (globalThis as any).document.body.innerText as string)).replace(/\s+/g, ' ');
    for (const visible of [
      // table of contents (filled in by the browser in Confluence)
      'Contents Macro gallery Panels Code Expand and tabs Jira and files Page tree',
      // status lozenges (upper case, as Confluence shows them)
      'APPROVED IN REVIEW BLOCKED DRAFT',
      // info, note, warning, tip and a plain panel
      'ℹ Info The staging site is rebuilt every night at 02:00.',
      '✎ Note: Before you deploy Tell the on-call engineer in the releases channel.',
      '⚠ Warning Never run the migration twice against production.',
      '✔ Tip Add --dry-run to preview the changes first.',
      'Release owners Alice Writer and Bob Reader share the release duty this quarter.',
      // code, with its title and language
      'deploy.sh · Bash #!/usr/bin/env bash set -euo pipefail ./migrate --dry-run && ./migrate',
      'Java public final class Greeter {',
      // expand, open; tabs, one after the other
      '▾ Rollback steps Stop the workers. Restore last night’s snapshot.',
      'Linux Install the package with apt install mailpage. macOS Install the package with brew install mailpage.',
      // Jira issue, attachments, and the page tree that cannot be shown
      'Tracked in DOCS-42: Send Confluence pages as mail [In Progress].',
      'Attachments release-flow.svg meeting-notes.txt',
      '[This part of the page (Page tree) cannot be shown in email — open the page',
    ]) {
      expect(shown).toContain(visible);
    }

    // The converted diagram is drawn at its own size.
    const diagram = await page.locator('img[alt^="Release flow"]').evaluate((img: any) => [img.naturalWidth, img.naturalHeight, img.complete]);
    expect(diagram).toEqual([360, 90, true]);
    // Code keeps its line breaks and indentation.
    expect(await page.locator('pre').nth(1).innerText()).toContain('    String greet(String name) {\n        return "Hello, " + name + "!";');
    expect(requests).toEqual([]);
    await context.close();

    // The plain-text part says the same.
    expect(mail.text).toContain('DOCS-42: Send Confluence pages as mail [In Progress]');
    expect(mail.text).toMatch(/Approved In review\s+Blocked Draft/);
  });
});
