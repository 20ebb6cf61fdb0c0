import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { mailLayoutSchema, spaceMailSchema } from '@mailpage/contract';
import { countingNode, createTestDatabase, insertTenant, TestClock, type TestDatabase } from '../../../test/support/database';
import { databaseKinds } from '../../../test/support/server';
import type { AuthContext } from '../auth/auth-context';
import type { Clock } from '../common/clock';
import { ComposeService } from '../compose/compose.service';
import type { ConfluenceClient } from '../confluence/confluence.client';
import { makePng } from '../local/sandbox/demo-site';
import type { PermissionsService } from '../permissions/permissions.service';
import type { MailSettingsService } from '../settings/mail-settings.service';
import { SETTINGS_CACHE_TTL_MS } from '../settings/row-cache';
import { TenantCaches } from '../tenants/tenant-caches';
import { TenantsService } from '../tenants/tenants.service';
import { MailLayoutService } from './layout.service';

const LOGO = makePng(60, 20, (x) => [x * 4, 82, 204]);
const permissions = { canAdministerSpace: async () => true } as unknown as PermissionsService;
const settings = { view: async () => ({ senderName: 'Docs', senderAddress: 'docs@example.com', subjectPrefix: '' }) } as unknown as MailSettingsService;
const confluence = { getUser: async () => ({ accountId: 'admin', displayName: 'Ada Admin', email: null }) } as unknown as ConfluenceClient;

const admin = (tenantId: string): AuthContext => ({
  tenantId,
  accountId: 'admin',
  apiBaseUrl: 'https://api.atlassian.com/ex/confluence/x',
  local: false,
  userToken: 'u',
  systemToken: 's',
  contentId: null,
  spaceKey: null,
  siteUrl: null,
});
const layout = (input: Record<string, unknown>) => mailLayoutSchema.parse(input);
const overrides = (senderName: string) => spaceMailSchema.parse({ senderName, replyTo: 'team@example.com', subjectPrefix: `[${senderName}]` });

describe.each(databaseKinds())('layout and space overrides read per send, cached on the node, on %s', (kind) => {
  let db: TestDatabase;
  let node: { ds: DataSource; statements: string[] };
  let clock: TestClock;
  let caches: TenantCaches;
  let service: MailLayoutService;
  let otherNode: MailLayoutService;
  let tenant: string;
  let n = 0;
  const reads = (table: string) => node.statements.filter((s) => /^SELECT/i.test(s.trim()) && s.includes(table)).length;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    node = await countingNode(db.ds);
  });
  afterAll(async () => {
    await node?.ds.destroy();
    await db?.close();
  });
  beforeEach(async () => {
    tenant = `tenant-${++n}`;
    await insertTenant(db.ds, tenant);
    clock = new TestClock();
    caches = new TenantCaches();
    const c = clock as unknown as Clock;
    service = new MailLayoutService(node.ds, c, permissions, new ComposeService(), settings, confluence, caches);
    otherNode = new MailLayoutService(db.ds, c, permissions, new ComposeService(), settings, confluence);
    node.statements.length = 0;
  });

  it('reads the layout and a space’s overrides once for the sends within the TTL, missing rows too', async () => {
    for (let i = 0; i < 5; i++) {
      const l = await service.forCompose(tenant);
      expect(l).toMatchObject({ headerText: '', logo: null, css: '', allowSpaceOverrides: false });
      expect(await service.spaceOverrides(tenant, 'DOCS', true)).toBeNull();
    }
    // A site that does not allow overrides reads no space row at all.
    expect(await service.spaceOverrides(tenant, 'ENG', false)).toBeNull();
    expect(reads('mail_layouts')).toBe(1);
    expect(reads('space_mail_settings')).toBe(1);
    expect(node.statements).toHaveLength(2);
  });

  it('keeps the logo decoded and hands it to every send', async () => {
    await otherNode.save(tenant, layout({ headerText: 'Acme', logo: { contentType: 'image/png', dataBase64: LOGO.toString('base64') }, customCss: 'h1 { color: red }' }));
    for (let i = 0; i < 3; i++) {
      const l = await service.forCompose(tenant);
      expect(l.logo!.content.equals(LOGO)).toBe(true);
      expect(l).toMatchObject({ headerText: 'Acme', css: 'h1 { color: red }', logo: { contentType: 'image/png' } });
    }
    expect(reads('mail_layouts')).toBe(1);
  });

  it('uses a layout saved on this node at the very next send', async () => {
    expect((await service.forCompose(tenant)).headerText).toBe('');
    await service.save(tenant, layout({ headerText: 'Acme', footerTemplate: 'From {sender}', allowSpaceOverrides: true }));
    expect(await service.forCompose(tenant)).toMatchObject({ headerText: 'Acme', footerTemplate: 'From {sender}', allowSpaceOverrides: true });
    await service.save(tenant, layout({ headerText: 'Acme 2', logo: { contentType: 'image/png', dataBase64: LOGO.toString('base64') } }));
    const l = await service.forCompose(tenant);
    expect(l).toMatchObject({ headerText: 'Acme 2', footerTemplate: '', allowSpaceOverrides: false });
    expect(l.logo!.content.equals(LOGO)).toBe(true);
  });

  it('uses a space’s overrides saved on this node at the very next send, whatever the case of the key that was read', async () => {
    await service.save(tenant, layout({ allowSpaceOverrides: true }));
    expect(await service.spaceOverrides(tenant, 'DOCS', true)).toBeNull();
    expect(await service.spaceOverrides(tenant, 'docs', true)).toBeNull();
    await service.saveSpace(admin(tenant), 'DOCS', overrides('Docs team'));
    expect(await service.spaceOverrides(tenant, 'DOCS', true)).toEqual({ senderName: 'Docs team', replyTo: 'team@example.com', subjectPrefix: '[Docs team]' });
    // MySQL compares space keys without case, SQLite with: either way the node asks the database again.
    expect((await service.spaceOverrides(tenant, 'docs', true))?.senderName ?? null).toBe(kind === 'mysql' ? 'Docs team' : null);
    await service.saveSpace(admin(tenant), 'DOCS', overrides('Writers'));
    expect((await service.spaceOverrides(tenant, 'DOCS', true))?.senderName).toBe('Writers');
    expect((await service.spaceOverrides(tenant, 'docs', true))?.senderName ?? null).toBe(kind === 'mysql' ? 'Writers' : null);
    expect(await service.spaceOverrides(tenant, 'ENG', true)).toBeNull();
  });

  it('reads again once the TTL is over, and sees then what another node saved', async () => {
    await service.save(tenant, layout({ headerText: 'Acme', allowSpaceOverrides: true }));
    expect((await service.forCompose(tenant)).headerText).toBe('Acme');
    expect(await service.spaceOverrides(tenant, 'DOCS', true)).toBeNull();
    await otherNode.save(tenant, layout({ headerText: 'Elsewhere', allowSpaceOverrides: true }));
    await otherNode.saveSpace(admin(tenant), 'DOCS', overrides('Docs team'));
    clock.advance(SETTINGS_CACHE_TTL_MS - 1);
    expect((await service.forCompose(tenant)).headerText).toBe('Acme');
    expect(await service.spaceOverrides(tenant, 'DOCS', true)).toBeNull();
    clock.advance(2);
    expect((await service.forCompose(tenant)).headerText).toBe('Elsewhere');
    expect((await service.spaceOverrides(tenant, 'DOCS', true))?.senderName).toBe('Docs team');
  });

  it('shows the admin screens and the preview what is saved, never a cached copy', async () => {
    await service.forCompose(tenant);
    await otherNode.save(tenant, layout({ headerText: 'Elsewhere', allowSpaceOverrides: true, logo: { contentType: 'image/png', dataBase64: LOGO.toString('base64') } }));
    expect((await service.view(tenant)).headerText).toBe('Elsewhere');
    expect(await service.spaceView(admin(tenant), 'DOCS')).toMatchObject({ allowed: true, editable: true });
    // The preview of an unsaved form keeps the logo the database holds.
    expect((await service.forCompose(tenant, layout({ headerText: 'Draft' }))).logo!.content.equals(LOGO)).toBe(true);
    // The preview of the saved layout shows what the database holds too.
    expect((await service.preview(admin(tenant))).html).toContain('Elsewhere');
    await expect(service.saveSpace(admin(tenant), 'DOCS', overrides('Docs team'))).resolves.toMatchObject({ senderName: 'Docs team' });
  });

  it('hands out copies: changing what a send got does not change the next send’s', async () => {
    await service.save(tenant, layout({ headerText: 'Acme', allowSpaceOverrides: true, logo: { contentType: 'image/png', dataBase64: LOGO.toString('base64') } }));
    await service.saveSpace(admin(tenant), 'DOCS', overrides('Docs team'));
    const l = await service.forCompose(tenant);
    l.headerText = 'Changed';
    l.logo!.filename = 'changed.png';
    l.allowSpaceOverrides = false;
    const space = await service.spaceOverrides(tenant, 'DOCS', true);
    space!.senderName = 'Changed';
    expect(await service.forCompose(tenant)).toMatchObject({ headerText: 'Acme', allowSpaceOverrides: true, logo: { filename: 'logo' } });
    expect((await service.spaceOverrides(tenant, 'DOCS', true))?.senderName).toBe('Docs team');
  });

  it('forgets a tenant whose data is deleted on this node', async () => {
    await service.save(tenant, layout({ headerText: 'Acme', allowSpaceOverrides: true }));
    await service.saveSpace(admin(tenant), 'DOCS', overrides('Docs team'));
    expect((await service.forCompose(tenant)).headerText).toBe('Acme');
    expect(await service.spaceOverrides(tenant, 'DOCS', true)).not.toBeNull();
    await new TenantsService(node.ds, clock as unknown as Clock, caches).remove(tenant);
    expect(await service.forCompose(tenant)).toMatchObject({ headerText: '', allowSpaceOverrides: false });
    expect(await service.spaceOverrides(tenant, 'DOCS', true)).toBeNull();
  });
});
