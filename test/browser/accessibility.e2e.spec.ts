import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../support/server';
import { describeViolations, launchBrowser, openPage, screenshot, seriousViolations, type AxeViolation } from './browser';

interface Screen {
  name: string;
  path: string;
  /** Brings the page into the state to check (a tab chosen, a preview shown). */
  prepare?: (page: Page) => Promise<void>;
  /** What shows that the page has loaded its data. */
  ready: string;
}

const SEND = '/#/send?pageId=163845&spaceKey=DOCS';

const SCREENS: Screen[] = [
  { name: 'send-empty', path: '/#/send', ready: '.empty' },
  {
    name: 'send-preview',
    path: SEND,
    ready: 'mp-attachment-list li',
    prepare: async (page) => {
      const to = page.getByRole('combobox', { name: 'To', exact: true });
      await to.fill('ann@example.org');
      await to.press('Enter');
      await page.getByRole('checkbox', { name: /handbook\.pdf/ }).check();
      await page.getByRole('button', { name: 'Preview' }).click();
      await page.locator('[data-preview]').waitFor({ timeout: 30_000 });
      // And a field showing why what was typed is not an address.
      const cc = page.getByRole('combobox', { name: 'Cc', exact: true });
      await cc.fill('not an address@');
      await cc.press('Enter');
      await page.locator('mp-recipient-picker .field-error').waitFor();
    },
  },
  {
    name: 'send-my-keys-tab',
    path: SEND,
    ready: 'mp-attachment-list li',
    prepare: async (page) => {
      await page.getByRole('tab', { name: 'My keys' }).click();
      await page.locator('mp-my-keys .section, mp-my-keys .banner').first().waitFor();
    },
  },
  { name: 'admin-mail', path: '/#/admin/mail', ready: 'form[data-mail-settings]' },
  { name: 'admin-permissions', path: '/#/admin/permissions', ready: 'form[data-permissions], mp-permissions-form .banner' },
  { name: 'admin-recipients', path: '/#/admin/recipients', ready: 'form[data-recipient-rules]' },
  {
    name: 'admin-layout',
    path: '/#/admin/layout',
    ready: 'form[data-layout]',
    // With the live preview of the sample page shown, and a CSS problem named as it is typed.
    prepare: async (page) => {
      await page.getByLabel('Header text').fill('Acme Documentation');
      await page.locator('[data-layout-preview] iframe').waitFor({ timeout: 30_000 });
      await page.getByLabel('Custom CSS').fill('@import "x.css";');
      await page.locator('mp-layout-form .field-error').waitFor();
    },
  },
  { name: 'admin-encryption', path: '/#/admin/encryption', ready: 'form[data-encryption], mp-encryption-form .banner' },
  { name: 'admin-audit', path: '/#/admin/audit', ready: 'table[data-audit], mp-audit-log .empty, mp-audit-log .banner' },
  {
    name: 'admin-outbox',
    path: '/#/admin/outbox',
    ready: 'table[data-outbox]',
    // Opens the caught mail: parsed in the browser (postal-mime) and shown in a sandboxed frame.
    prepare: async (page) => {
      await page.locator('table[data-outbox] tbody button').first().click();
      await page.locator('[data-outbox-mail] iframe').waitFor({ timeout: 10_000 });
    },
  },
  {
    name: 'space-settings',
    path: '/#/space/DOCS',
    ready: 'form[data-space-permissions], mp-space-settings .banner',
    prepare: async (page) => {
      await page.locator('form[data-space-mail], mp-space-mail-form .banner').first().waitFor();
    },
  },
  { name: 'my-keys', path: '/#/keys', ready: 'mp-my-keys .section, mp-my-keys .banner' },
];

describe('every page passes axe-core without a serious or critical violation', () => {
  let server: RunningServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startServer();
    browser = await launchBrowser();
    // One sent mail, so that the audit log and the outbox have a row to show.
    const { page } = await openPage(browser);
    await page.goto(`${server.url}${SEND}`);
    const to = page.getByRole('combobox', { name: 'To', exact: true });
    await to.fill('ann@example.org');
    await to.press('Enter');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await page.locator('[data-result] .banner').waitFor({ timeout: 30_000 });
    await page.context().close();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  for (const scheme of ['light', 'dark'] as const) {
    it(`in the ${scheme} theme`, async () => {
      const found: string[] = [];
      for (const screen of SCREENS) {
        const { page, errors } = await openPage(browser, scheme);
        try {
          await page.goto(`${server.url}${screen.path}`);
          await page.locator(screen.ready).first().waitFor({ timeout: 30_000 });
          await screen.prepare?.(page);
          const violations: AxeViolation[] = await seriousViolations(page);
          await screenshot(page, `a11y-${screen.name}-${scheme}`);
          if (violations.length) found.push(`${screen.name} (${scheme}):\n${describeViolations(violations)}`);
          if (errors.length) found.push(`${screen.name} (${scheme}) script errors:\n${errors.join('\n')}`);
        } finally {
          await page.context().close();
        }
      }
      expect(found.join('\n\n')).toBe('');
    }, 180_000);
  }
});
