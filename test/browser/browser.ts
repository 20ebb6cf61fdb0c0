import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { apiClient, bearer } from '../support/api';
import { ROOT, startServer, type RunningServer } from '../support/server';
import { startTestSmtpServer, type TestSmtpServer } from '../support/smtp';

/** The Angular build the server serves at / in local mode (npm run build:client). */
export const CLIENT_INDEX = join(ROOT, 'client/dist/mailpage/browser/index.html');
export const SCREENSHOTS = join(ROOT, 'test-output/screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Debian's Chromium, headless; never a downloaded browser build. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CLIENT_INDEX)) throw new Error(`${CLIENT_INDEX} is missing: run "npm run build:client" before the browser tests.`);
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not at ${CHROMIUM}: install Debian's chromium package (or set CHROMIUM_PATH).`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
}

/** A fresh page (own storage, so each test starts as the default demo user) that fails the test on a script error. */
export async function openPage(browser: Browser, colorScheme: 'light' | 'dark' = 'light'): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, colorScheme });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    // A refused API call is logged by the browser as "Failed to load resource"; the tests look at what the page shows.
    if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) errors.push(m.text());
  });
  return { page, errors };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  // A tall viewport rather than fullPage: headless Chromium leaves sandboxed (out-of-process) frames blank in fullPage shots.
  const size = page.viewportSize() ?? { width: 1100, height: 900 };
  const height = await page.evaluate(() => (globalThis as any).document.documentElement.scrollHeight as number);
  await page.setViewportSize({ width: size.width, height: Math.min(Math.max(height, size.height), 6000) });
  await page.waitForTimeout(200);
  await page.screenshot({ path });
  await page.setViewportSize(size);
  return path;
}

/** Acts as another demo user through the local-mode switcher, as a tester would. */
export async function actAs(page: Page, displayName: RegExp): Promise<void> {
  const select = page.getByLabel('Acting as');
  const value = await select.locator('option', { hasText: displayName }).getAttribute('value');
  await select.selectOption(value!);
  await page.waitForFunction((v) => (globalThis as any).localStorage.getItem('mailpage.local.accountId') === v, value);
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/** axe-core on the page as it is now; returns the serious and critical violations. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  // Evaluated rather than added as a <script>: the page's CSP (script-src 'self') would refuse an inline script.
  await page.evaluate(readFileSync(join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8'));
  const result = await page.evaluate(async () => {
    const axe = (globalThis as any).axe;
    const r = await axe.run((globalThis as any).document, { resultTypes: ['violations'] });
    return r.violations.map((v: any) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n: any) => ({ target: n.target, failureSummary: n.failureSummary })) }));
  });
  return (result as AxeViolation[]).filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

export function describeViolations(vs: AxeViolation[]): string {
  return vs.map((v) => `${v.impact} ${v.id}: ${v.help}\n${v.nodes.map((n) => `  ${n.target.join(' ')} ${n.failureSummary ?? ''}`).join('\n')}`).join('\n');
}

/** A local-mode server whose site sends through a test SMTP server (plain, on loopback), and Chromium. */
export interface BrowserRig {
  smtp: TestSmtpServer;
  server: RunningServer;
  admin: ReturnType<typeof apiClient>;
  browser: Browser;
  stop: () => Promise<void>;
}

/**
 * startBrowserRig for one describe block: started before its tests and stopped after them; the page each test opens
 * with `open()` is closed after that test.
 */
export function useBrowserRig(sender: { senderName: string; subjectPrefix: string }, env: Record<string, string> = {}) {
  let rig: BrowserRig | undefined;
  const opened: Page[] = [];
  beforeAll(async () => {
    rig = await startBrowserRig(sender, env);
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((page) => page.context().close()));
  });
  afterAll(() => rig?.stop());
  const started = () => {
    if (!rig) throw new Error('the browser rig has not started');
    return rig;
  };
  return {
    get smtp() {
      return started().smtp;
    },
    get server() {
      return started().server;
    },
    get admin() {
      return started().admin;
    },
    async open(colorScheme?: 'light' | 'dark') {
      const page = await openPage(started().browser, colorScheme);
      opened.push(page.page);
      return page;
    },
  };
}

export async function startBrowserRig(sender: { senderName: string; subjectPrefix: string }, env: Record<string, string> = {}): Promise<BrowserRig> {
  const smtp = await startTestSmtpServer();
  const server = await startServer(env);
  const admin = apiClient(server.url, bearer(server.localToken));
  const saved = await admin.put('/api/settings/mail', { ...sender, senderAddress: 'docs@example.com', server: { mode: 'custom', host: '127.0.0.1', port: smtp.port, security: 'none' } });
  if (saved.status !== 200) throw new Error(`saving the mail settings answered ${saved.status}: ${saved.text}`);
  const browser = await launchBrowser();
  return {
    smtp,
    server,
    admin,
    browser,
    stop: async () => {
      await browser.close();
      await server.stop();
      await smtp.close();
    },
  };
}

