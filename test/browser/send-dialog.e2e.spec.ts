import PostalMime from 'postal-mime';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { actAs, screenshot, useBrowserRig } from './browser';

const TO = 'ann.reader@example.org';
const BCC = 'hidden.copy@example.org';

describe('a user sends a page from the dialog in the browser', () => {
  // A low recipient limit, so the service's refusal can be shown next to the recipients.
  const rig = useBrowserRig({ senderName: 'Docs Team', subjectPrefix: '[Wiki]' }, { MAIL_MAX_RECIPIENTS: '3' });
  let page: Page;
  let errors: string[];

  async function openAs(user: RegExp, pageTitle: string) {
    ({ page, errors } = await rig.open());
    await page.goto(`${rig.server.url}/`);
    await actAs(page, user);
    const picker = page.getByLabel('Page', { exact: true });
    const value = await picker.locator('option', { hasText: pageTitle }).getAttribute('value');
    await picker.selectOption(value!);
  }

  async function addRecipient(field: 'To' | 'Cc' | 'Bcc', address: string) {
    const box = page.getByRole('combobox', { name: field, exact: true });
    await box.fill(address);
    await box.press('Enter');
    await page.locator(`li.chip[data-recipient="${address}"]`).waitFor();
  }

  it('sends the page with one attachment to a To and a Bcc recipient; the Bcc stays out of the header', async () => {
    await openAs(/Alice/, 'Getting started');
    await addRecipient('To', TO);
    await addRecipient('Bcc', BCC);
    await page.getByRole('checkbox', { name: /handbook\.pdf/ }).check();
    await page.locator('p[aria-live]', { hasText: '1 file selected' }).waitFor();

    await page.getByRole('button', { name: 'Preview' }).click();
    await page.locator('[data-preview] [data-subject]').waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-preview] [data-subject]').textContent()).toBe('[Wiki] Getting started');

    const before = rig.smtp.mails.length;
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    const result = page.locator('[data-result] .banner-success');
    await result.waitFor({ timeout: 30_000 });
    expect(await result.textContent()).toContain(`Accepted: ${TO}, ${BCC}`);
    await screenshot(page, 'send-dialog-sent');

    expect(rig.smtp.mails.length).toBe(before + 1);
    const got = rig.smtp.mails[rig.smtp.mails.length - 1];
    expect(got.envelope.to).toEqual([TO, BCC]);
    const raw = got.raw.toString('latin1');
    expect(raw).not.toMatch(/^bcc:/im);
    expect(raw).not.toContain(BCC);
    const mail = await PostalMime.parse(got.raw);
    expect(mail.subject).toBe('[Wiki] Getting started');
    expect(mail.to?.map((a) => a.address)).toEqual([TO]);
    expect(mail.attachments.filter((a) => a.disposition === 'attachment').map((a) => a.filename)).toEqual(['handbook.pdf']);
    expect(errors).toEqual([]);
  });

  it('adds a file from the computer (local mode) and sends it as multipart with the page', async () => {
    await openAs(/Alice/, 'Release notes');
    await addRecipient('To', TO);
    await page.getByLabel('Add files from your computer').setInputFiles({ name: 'notes-extra.txt', mimeType: 'text/plain', buffer: Buffer.from('Uploaded from the computer Kestrel-71\n') });
    await page.locator('p[aria-live]', { hasText: '1 file selected' }).waitFor();
    const before = rig.smtp.mails.length;
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await page.locator('[data-result] .banner-success').waitFor({ timeout: 30_000 });
    await screenshot(page, 'send-dialog-uploaded-file');
    expect(rig.smtp.mails.length).toBe(before + 1);
    const mail = await PostalMime.parse(rig.smtp.mails[rig.smtp.mails.length - 1].raw);
    expect(mail.subject).toBe('[Wiki] Release notes');
    const file = mail.attachments.find((a) => a.filename === 'notes-extra.txt');
    expect(file).toBeDefined();
    expect(Buffer.from(file!.content as ArrayBuffer).toString()).toBe('Uploaded from the computer Kestrel-71\n');
    expect(errors).toEqual([]);
  });

  it('tells a user outside the allowed group why they cannot send', async () => {
    const set = await rig.admin.put('/api/permissions', { enabled: true, allowedGroups: ['writers'] });
    expect(set.status).toBe(200);
    try {
      await openAs(/Bob/, 'Getting started');
      const why = page.locator('[data-cannot-send]');
      await why.waitFor({ timeout: 30_000 });
      expect(await why.textContent()).toContain('"writers"');
      expect(await page.getByRole('combobox', { name: 'To', exact: true }).count()).toBe(0);
      await screenshot(page, 'send-dialog-not-allowed');
      expect(errors).toEqual([]);
    } finally {
      await rig.admin.put('/api/permissions', { enabled: true, allowedGroups: [], enforceInAllSpaces: false });
    }
  });

  it('finds a Confluence user by name, shows "email hidden", and sends to the address the service resolves', async () => {
    await openAs(/Alice/, 'Getting started');
    const box = page.getByRole('combobox', { name: 'Cc', exact: true });
    await box.fill('Carol');
    const option = page.locator('mp-recipient-picker').nth(1).getByRole('option', { name: /Carol Hidden/ });
    await option.waitFor({ timeout: 10_000 });
    expect(await option.textContent()).toContain('email hidden');
    await box.press('ArrowDown');
    await box.press('Enter');
    await page.locator('li.chip[data-recipient="carol"]').waitFor();
    await addRecipient('To', TO);
    const before = rig.smtp.mails.length;
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    const result = page.locator('[data-result] .banner-success');
    await result.waitFor({ timeout: 30_000 });
    await screenshot(page, 'send-dialog-confluence-user');
    expect(rig.smtp.mails.length).toBe(before + 1);
    expect(rig.smtp.mails[rig.smtp.mails.length - 1].envelope.to).toEqual([TO, 'carol@example.com']);
    expect(errors).toEqual([]);
  });

  it("shows the service's refusal next to the recipients and keeps every chip", async () => {
    await openAs(/Alice/, 'Getting started');
    for (const a of ['a1@example.org', 'a2@example.org', 'a3@example.org']) await addRecipient('To', a);
    await addRecipient('Bcc', 'b1@example.org');
    const before = rig.smtp.mails.length;
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    const refusal = page.locator('fieldset.recipients-group > .field-error');
    await refusal.waitFor({ timeout: 30_000 });
    expect(await refusal.textContent()).toContain('A mail can go to at most 3 recipients; this one has 4.');
    expect(await page.locator('li.chip').count()).toBe(4);
    expect(rig.smtp.mails.length).toBe(before);
    await screenshot(page, 'send-dialog-too-many-recipients');
    expect(errors).toEqual([]);
  });
});
