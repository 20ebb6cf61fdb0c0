import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mailLayoutSchema, recipientPolicySchema, spaceMailSchema } from '@mailpage/contract';
import { createTestDatabase, insertTenant, TestClock, type TestDatabase } from '../../../test/support/database';
import { databaseKinds } from '../../../test/support/server';
import type { AuthContext } from '../auth/auth-context';
import type { Clock } from '../common/clock';
import { ComposeService } from '../compose/compose.service';
import type { ConfluenceClient } from '../confluence/confluence.client';
import { MailLayoutEntity, RecipientPolicyEntity, SpaceMailSettingsEntity } from '../database/entities';
import { makePng } from '../local/sandbox/demo-site';
import type { PermissionsService } from '../permissions/permissions.service';
import { RecipientPolicyService } from '../recipients/recipient-policy.service';
import type { MailSettingsService } from '../settings/mail-settings.service';
import { TenantsService } from '../tenants/tenants.service';
import { MailLayoutService } from './layout.service';

const LOGO = makePng(120, 40, (x) => [x * 2, 82, 204]);
// Incompressible bytes behind a PNG signature: a logo of just under 200 kB, to prove MySQL keeps all of it.
const BIG_LOGO = Buffer.concat([LOGO.subarray(0, 8), Buffer.from(Array.from({ length: 200 * 1024 - 8 }, (_, i) => (i * 7919) % 251))]);

const auth = (accountId: string, tenantId = 'tenant-a'): AuthContext => ({
  tenantId,
  accountId,
  apiBaseUrl: 'https://api.atlassian.com/ex/confluence/x',
  local: false,
  userToken: 't',
  systemToken: 's',
  contentId: null,
  spaceKey: null,
  siteUrl: 'https://acme.atlassian.net',
});

describe.each(databaseKinds())('layout, recipient rules and space overrides on %s', (kind) => {
  let db: TestDatabase;
  let layouts: MailLayoutService;
  let policy: RecipientPolicyService;
  const spaceAdmins = new Set(['alice']);

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    await insertTenant(db.ds, 'tenant-a');
    await insertTenant(db.ds, 'tenant-b');
    const clock = new TestClock() as unknown as Clock;
    const permissions = { canAdministerSpace: async (a: AuthContext) => spaceAdmins.has(a.accountId) } as unknown as PermissionsService;
    const settings = { view: async () => ({ senderName: 'Docs', senderAddress: 'docs@example.com', subjectPrefix: '[Wiki]' }) } as unknown as MailSettingsService;
    const confluence = { getUser: async () => ({ accountId: 'alice', displayName: 'Alice Writer', email: null }) } as unknown as ConfluenceClient;
    layouts = new MailLayoutService(db.ds, clock, permissions, new ComposeService(), settings, confluence);
    policy = new RecipientPolicyService(db.ds, clock);
  });
  afterAll(async () => db?.close());

  it('saves a layout with a logo of 200 kB and gives back all of it', async () => {
    const view = await layouts.save('tenant-a', mailLayoutSchema.parse({ headerText: 'Acme', footerTemplate: 'From {sender}', logo: { contentType: 'image/png', dataBase64: BIG_LOGO.toString('base64') }, customCss: 'h1 { color: red }'.repeat(1000) }));
    expect(view).toMatchObject({ headerText: 'Acme', logo: { contentType: 'image/png', size: BIG_LOGO.length }, includePageLink: false, allowSpaceOverrides: false });
    const forCompose = await layouts.forCompose('tenant-a');
    expect(forCompose.logo!.content.equals(BIG_LOGO)).toBe(true);
    expect(forCompose.css).toHaveLength(17_000);
  });

  it('keeps the logo when it is left out, removes it with null, and refuses bytes that are no PNG or JPEG', async () => {
    await layouts.save('tenant-a', mailLayoutSchema.parse({ logo: { contentType: 'image/png', dataBase64: LOGO.toString('base64') } }));
    expect((await layouts.save('tenant-a', mailLayoutSchema.parse({ headerText: 'New' }))).logo).toEqual({ contentType: 'image/png', size: LOGO.length });
    await expect(layouts.save('tenant-a', mailLayoutSchema.parse({ logo: { contentType: 'image/png', dataBase64: Buffer.from('GIF89a-not-allowed').toString('base64') } }))).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { issues: [{ path: 'logo', message: 'the logo is not a PNG or JPEG image' }] },
    });
    expect((await layouts.view('tenant-a')).logo).not.toBeNull();
    expect((await layouts.save('tenant-a', mailLayoutSchema.parse({ logo: null }))).logo).toBeNull();
    expect((await layouts.view('tenant-b')).updatedAt).toBeNull();
  });

  it('previews a sample page with the logo as a data: image and the footer filled', async () => {
    const preview = await layouts.preview(auth('sandbox-admin'), mailLayoutSchema.parse({ headerText: 'Acme Docs', footerTemplate: 'Sent by {sender} from {page}', logo: { contentType: 'image/png', dataBase64: LOGO.toString('base64') } }));
    expect(preview.subject).toBe('[Wiki] Release plan');
    expect(preview.html).toContain(`src="data:image/png;base64,${LOGO.toString('base64')}"`);
    expect(preview.html).not.toContain('cid:');
    expect(preview.text).toContain('Sent by Alice Writer from Release plan');
    // Nothing of the preview was saved.
    expect((await layouts.view('tenant-a')).headerText).toBe('');
  });

  it('lets a space admin override the sender only while the site allows it', async () => {
    await layouts.save('tenant-a', mailLayoutSchema.parse({ allowSpaceOverrides: false }));
    const input = spaceMailSchema.parse({ senderName: 'Docs team', replyTo: 'docs-team@example.com', subjectPrefix: '[DOCS]' });
    await expect(layouts.saveSpace(auth('alice'), 'DOCS', input)).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('has not allowed spaces') });
    expect(await layouts.spaceView(auth('alice'), 'DOCS')).toMatchObject({ allowed: false, editable: false, senderName: null });

    await layouts.save('tenant-a', mailLayoutSchema.parse({ allowSpaceOverrides: true }));
    await expect(layouts.saveSpace(auth('bob'), 'DOCS', input)).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('Only an admin of space DOCS') });
    expect(await layouts.saveSpace(auth('alice'), 'DOCS', input)).toEqual({ spaceKey: 'DOCS', senderName: 'Docs team', replyTo: 'docs-team@example.com', subjectPrefix: '[DOCS]', allowed: true, editable: true });
    expect(await layouts.spaceView(auth('bob'), 'DOCS')).toMatchObject({ senderName: 'Docs team', editable: false });
    expect(await layouts.spaceOverrides('tenant-a', 'DOCS', true)).toEqual({ senderName: 'Docs team', replyTo: 'docs-team@example.com', subjectPrefix: '[DOCS]' });
    expect(await layouts.spaceOverrides('tenant-a', 'DOCS', false)).toBeNull();
    expect(await layouts.spaceOverrides('tenant-a', 'ENG', true)).toBeNull();
    // Empty values keep the site's.
    await layouts.saveSpace(auth('alice'), 'DOCS', spaceMailSchema.parse({ senderName: ' ', replyTo: '', subjectPrefix: '' }));
    expect(await layouts.spaceOverrides('tenant-a', 'DOCS', true)).toEqual({ senderName: null, replyTo: null, subjectPrefix: null });
  });

  it('stores recipient rules normalised and without duplicates, per site', async () => {
    const view = await policy.save('tenant-a', recipientPolicySchema.parse({ allowedDomains: ['Example.com', 'example.com', '.bücher.example'], blockedDomains: ['old.example.com'] }));
    expect(view).toMatchObject({ allowedDomains: ['example.com', '.xn--bcher-kva.example'], blockedDomains: ['old.example.com'] });
    expect(await policy.rules('tenant-a')).toEqual({ allowedDomains: ['example.com', '.xn--bcher-kva.example'], blockedDomains: ['old.example.com'] });
    expect(await policy.rules('tenant-b')).toEqual({ allowedDomains: [], blockedDomains: [] });
  });

  it('deletes the layout, the rules and the space overrides with the rest of a site', async () => {
    await new TenantsService(db.ds, new TestClock() as unknown as Clock).remove('tenant-a');
    for (const entity of [MailLayoutEntity, RecipientPolicyEntity, SpaceMailSettingsEntity]) expect(await db.ds.getRepository(entity).countBy({ tenantId: 'tenant-a' })).toBe(0);
  });
});
