import PostalMime from 'postal-mime';
import { describe, expect, it } from 'vitest';
import { apiClient, bearer } from '../support/api';
import { actAs, screenshot, useBrowserRig } from './browser';

describe('groups, a personal message and the layout in the browser', () => {
  const rig = useBrowserRig({ senderName: 'Docs Team', subjectPrefix: '[Wiki]' });

  it('sends to a Confluence group shown with its member count, with a personal message and Reply-To the sender', async () => {
    const { page, errors } = await rig.open();
    await page.goto(`${rig.server.url}/`);
    await actAs(page, /Alice/);
    const picker = page.getByLabel('Page', { exact: true });
    await picker.selectOption((await picker.locator('option', { hasText: 'Getting started' }).getAttribute('value'))!);

    const to = page.getByRole('combobox', { name: 'To', exact: true });
    await to.fill('writ');
    await page.getByRole('option', { name: /writers/ }).click();
    const chip = page.locator('li.chip[data-recipient="group:writers"]');
    await chip.locator('[data-member-count]', { hasText: '2 members' }).waitFor();
    await page.getByLabel('Personal message (optional)').fill('Please read this before Friday.');
    await page.getByRole('checkbox', { name: 'Replies go to me' }).check();

    await page.getByRole('button', { name: 'Preview' }).click();
    await page.locator('[data-preview] [data-group]').waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-preview] [data-group]').textContent()).toContain('2 members');
    expect(await page.locator('[data-preview] [data-reply-to]').textContent()).toBe('alice@example.com');

    const before = rig.smtp.mails.length;
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await page.locator('[data-result] .banner-success').waitFor({ timeout: 30_000 });
    await screenshot(page, 'send-dialog-group-sent');
    expect(rig.smtp.mails.length).toBe(before + 1);
    const got = rig.smtp.mails.at(-1)!;
    // The group's members: Alice, and Carol, whose hidden address the app may read.
    expect([...got.envelope.to].sort()).toEqual(['alice@example.com', 'carol@example.com']);
    const mail = await PostalMime.parse(got.raw);
    expect(mail.replyTo?.[0].address).toBe('alice@example.com');
    expect(mail.text).toContain('Please read this before Friday.');
    expect(errors).toEqual([]);
  });

  it('lets a site admin shape the layout with a live preview, and saves it', async () => {
    const { page, errors } = await rig.open();
    await page.goto(`${rig.server.url}/#/admin/layout`);
    await page.locator('form[data-layout]').waitFor();
    await page.getByLabel('Header text').fill('Acme Documentation');
    await page.getByLabel('Footer').fill('Sent by {sender} from {page}');
    const frame = page.frameLocator('[data-layout-preview] iframe');
    await frame.getByText('Acme Documentation').waitFor({ timeout: 30_000 });
    await frame.getByText(/Sent by .+ from Release plan/).waitFor();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.locator('mp-layout-form [data-notice]', { hasText: 'Saved' }).waitFor();
    await screenshot(page, 'admin-layout-saved');
    const saved = await apiClient(rig.server.url, bearer(rig.server.localToken)).get('/api/settings/layout');
    expect(saved.body).toMatchObject({ headerText: 'Acme Documentation', footerTemplate: 'Sent by {sender} from {page}' });
    expect(errors).toEqual([]);
  });
});
