import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, bearer } from '../support/api';
import { startServer, type RunningServer } from '../support/server';
import { startTestSmtpServer, type TestSmtpServer } from '../support/smtp';
import { createTestCa, testCaFile } from '../support/tls';
import { launchBrowser, openPage, screenshot } from './browser';

const PASSWORD = 'smtp-pass-Ui7!k';

describe('a site admin sets up the mail server in the browser', () => {
  let smtp: TestSmtpServer;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    const ca = createTestCa();
    smtp = await startTestSmtpServer({ tls: { key: ca.keyPem, cert: ca.certPem }, users: { mailer: PASSWORD } });
    server = await startServer({ NODE_EXTRA_CA_CERTS: testCaFile(ca) });
    browser = await launchBrowser();
  });
  afterEach(async () => {
    await page?.context().close();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await smtp?.close();
  });

  /** Fills the mail server part of the form as an admin would, from the keyboard's point of view: by label. */
  async function fillServer(password: string) {
    ({ page, errors } = await openPage(browser));
    await page.goto(`${server.url}/#/admin/mail`);
    await page.getByLabel('Our own mail server (SMTP)').check();
    await page.getByLabel('Host').fill('127.0.0.1');
    await page.getByLabel('Security').selectOption('starttls');
    await page.getByLabel('Port').fill(String(smtp.port));
    await page.getByLabel('Sign in').selectOption('password');
    await page.getByLabel('User name').fill('mailer');
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByLabel('Sender address').fill('docs@example.com');
  }

  it('saves the settings, tests the connection and shows that it worked', async () => {
    await fillServer(PASSWORD);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('[data-notice]', { hasText: 'Saved' }).waitFor();
    // Saved: the password field is empty again and says that one is kept.
    expect(await page.getByLabel('Password', { exact: true }).inputValue()).toBe('');
    await page.locator('[data-password-set]').waitFor();

    await page.getByRole('button', { name: 'Test connection' }).click();
    const notice = page.locator('[data-notice]', { hasText: 'checked: connect, tls, auth' });
    await notice.waitFor({ timeout: 30_000 });
    await screenshot(page, 'admin-test-connection-ok');
    expect(smtp.connectionCount).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });

  it("shows the server's SMTP_AUTH_FAILED sentence next to the password when the password is wrong, and keeps what was typed", async () => {
    const api = apiClient(server.url, bearer(server.localToken));
    const expected = await api.post('/api/settings/mail/verify', {
      settings: { senderName: '', senderAddress: 'docs@example.com', subjectPrefix: '', server: { mode: 'custom', host: '127.0.0.1', port: smtp.port, security: 'starttls', auth: { type: 'password', username: 'mailer', password: 'wrong-one' } } },
    });
    expect(expected.body.code).toBe('SMTP_AUTH_FAILED');

    await fillServer('wrong-one');
    await page.getByRole('button', { name: 'Test connection' }).click();
    const error = page.locator('#ms-password-error');
    await error.waitFor({ timeout: 30_000 });
    expect((await error.textContent())?.trim()).toBe(expected.body.message);
    expect(await page.getByLabel('Password', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByLabel('Password', { exact: true }).inputValue()).toBe('wrong-one');
    expect(await page.getByLabel('Host').inputValue()).toBe('127.0.0.1');
    await screenshot(page, 'admin-test-connection-auth-failed');
    expect(errors).toEqual([]);
  });
});
