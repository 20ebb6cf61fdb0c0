import { describe, expect, it } from 'vitest';
import { mailLayoutSchema, spaceMailSchema } from '@mailpage/contract';
import { useCachingNode } from '../../../test/support/database';
import { databaseKinds } from '../../../test/support/server';
import type { AuthContext } from '../auth/auth-context';
import type { Clock } from '../common/clock';
import { ComposeService } from '../compose/compose.service';
import type { ConfluenceClient } from '../confluence/confluence.client';
import { makePng } from '../local/sandbox/demo-site';
import type { PermissionsService } from '../permissions/permissions.service';
import type { MailSettingsService } from '../settings/mail-settings.service';
import { SETTINGS_CACHE_TTL_MS } from '../settings/row-cache';
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
  const t = useCachingNode(kind, ({ db, node, clock, caches }) => {
    const c = clock as unknown as Clock;
    return {
      service: new MailLayoutService(node.ds, c, permissions, new ComposeService(), settings, confluence, caches),
      otherNode: new MailLayoutService(db.ds, c, permissions, new ComposeService(), settings, confluence),
    };
  });
  const reads = (table: string) => t.node.statements.filter((s) => /^SELECT/i.test(s.trim()) && s.includes(table)).length;

  it('reads the layout and a space’s overrides once for the sends within the TTL, missing rows too', async () => {
    for (let i = 0; i < 5; i++) {
      const l = await t.service.forCompose(t.tenant);
      expect(l).toMatchObject({ headerText: '', logo: null, css: '', allowSpaceOverrides: false });
      expect(await t.service.spaceOverrides(t.tenant, 'DOCS', true)).toBeNull();
    }
    // A site that does not allow overrides reads no space row at all.
    expect(await t.service.spaceOverrides(t.tenant, 'ENG', false)).toBeNull();
    expect(reads('mail_layouts')).toBe(1);
    expect(reads('space_mail_settings')).toBe(1);
    expect(t.node.statements).toHaveLength(2);
  });

  it('keeps the logo decoded and hands it to every send', async () => {
    await t.otherNode.save(t.tenant, layout({ headerText: 'Acme', logo: { contentType: 'image/png', dataBase64: LOGO.toString('base64') }, customCss: 'h1 { color: red }' }));
    for (let i = 0; i < 3; i++) {
      const l = await t.service.forCompose(t.tenant);
      expect(l.logo!.content.equals(LOGO)).toBe(true);
      expect(l).toMatchObject({ headerText: 'Acme', css: 'h1 { color: red }', logo: { contentType: 'image/png' } });
    }
    expect(reads('mail_layouts')).toBe(1);
  });

  it('uses a layout saved on this node at the very next send', async () => {
    expect((await t.service.forCompose(t.tenant)).headerText).toBe('');
    await t.service.save(t.tenant, layout({ headerText: 'Acme', footerTemplate: 'From {sender}', allowSpaceOverrides: true }));
    expect(await t.service.forCompose(t.tenant)).toMatchObject({ headerText: 'Acme', footerTemplate: 'From {sender}', allowSpaceOverrides: true });
    await t.service.save(t.tenant, layout({ headerText: 'Acme 2', logo: { contentType: 'image/png', dataBase64: LOGO.toString('base64') } }));
    const l = await t.service.forCompose(t.tenant);
    expect(l).toMatchObject({ headerText: 'Acme 2', footerTemplate: '', allowSpaceOverrides: false });
    expect(l.logo!.content.equals(LOGO)).toBe(true);
  });

  it('uses a space’s overrides saved on this node at the very next send, whatever the case of the key that was read', async () => {
    await t.service.save(t.tenant, layout({ allowSpaceOverrides: true }));
    expect(await t.service.spaceOverrides(t.tenant, 'DOCS', true)).toBeNull();
    expect(await t.service.spaceOverrides(t.tenant, 'docs', true)).toBeNull();
    await t.service.saveSpace(admin(t.tenant), 'DOCS', overrides('Docs team'));
    expect(await t.service.spaceOverrides(t.tenant, 'DOCS', true)).toEqual({ senderName: 'Docs team', replyTo: 'team@example.com', subjectPrefix: '[Docs team]' });
    // MySQL compares space keys without case, SQLite with: either way the node asks the database again.
    expect((await t.service.spaceOverrides(t.tenant, 'docs', true))?.senderName ?? null).toBe(kind === 'mysql' ? 'Docs team' : null);
    await t.service.saveSpace(admin(t.tenant), 'DOCS', overrides('Writers'));
    expect((await t.service.spaceOverrides(t.tenant, 'DOCS', true))?.senderName).toBe('Writers');
    expect((await t.service.spaceOverrides(t.tenant, 'docs', true))?.senderName ?? null).toBe(kind === 'mysql' ? 'Writers' : null);
    expect(await t.service.spaceOverrides(t.tenant, 'ENG', true)).toBeNull();
  });

  it('reads again once the TTL is over, and sees then what another node saved', async () => {
    await t.service.save(t.tenant, layout({ headerText: 'Acme', allowSpaceOverrides: true }));
    expect((await t.service.forCompose(t.tenant)).headerText).toBe('Acme');
    expect(await t.service.spaceOverrides(t.tenant, 'DOCS', true)).toBeNull();
    await t.otherNode.save(t.tenant, layout({ headerText: 'Elsewhere', allowSpaceOverrides: true }));
    await t.otherNode.saveSpace(admin(t.tenant), 'DOCS', overrides('Docs team'));
    t.clock.advance(SETTINGS_CACHE_TTL_MS - 1);
    expect((await t.service.forCompose(t.tenant)).headerText).toBe('Acme');
    expect(await t.service.spaceOverrides(t.tenant, 'DOCS', true)).toBeNull();
    t.clock.advance(2);
    expect((await t.service.forCompose(t.tenant)).headerText).toBe('Elsewhere');
    expect((await t.service.spaceOverrides(t.tenant, 'DOCS', true))?.senderName).toBe('Docs team');
  });

  it('shows the admin screens and the preview what is saved, never a cached copy', async () => {
    await t.service.forCompose(t.tenant);
    await t.otherNode.save(t.tenant, layout({ headerText: 'Elsewhere', allowSpaceOverrides: true, logo: { contentType: 'image/png', dataBase64: LOGO.toString('base64') } }));
    expect((await t.service.view(t.tenant)).headerText).toBe('Elsewhere');
    expect(await t.service.spaceView(admin(t.tenant), 'DOCS')).toMatchObject({ allowed: true, editable: true });
    // The preview of an unsaved form keeps the logo the database holds.
    expect((await t.service.forCompose(t.tenant, layout({ headerText: 'Draft' }))).logo!.content.equals(LOGO)).toBe(true);
    // The preview of the saved layout shows what the database holds too.
    expect((await t.service.preview(admin(t.tenant))).html).toContain('Elsewhere');
    await expect(t.service.saveSpace(admin(t.tenant), 'DOCS', overrides('Docs team'))).resolves.toMatchObject({ senderName: 'Docs team' });
  });

  it('hands out copies: changing what a send got does not change the next send’s', async () => {
    await t.service.save(t.tenant, layout({ headerText: 'Acme', allowSpaceOverrides: true, logo: { contentType: 'image/png', dataBase64: LOGO.toString('base64') } }));
    await t.service.saveSpace(admin(t.tenant), 'DOCS', overrides('Docs team'));
    const l = await t.service.forCompose(t.tenant);
    l.headerText = 'Changed';
    l.logo!.filename = 'changed.png';
    l.allowSpaceOverrides = false;
    const space = await t.service.spaceOverrides(t.tenant, 'DOCS', true);
    space!.senderName = 'Changed';
    expect(await t.service.forCompose(t.tenant)).toMatchObject({ headerText: 'Acme', allowSpaceOverrides: true, logo: { filename: 'logo' } });
    expect((await t.service.spaceOverrides(t.tenant, 'DOCS', true))?.senderName).toBe('Docs team');
  });

  it('forgets a tenant whose data is deleted on this node', async () => {
    await t.service.save(t.tenant, layout({ headerText: 'Acme', allowSpaceOverrides: true }));
    await t.service.saveSpace(admin(t.tenant), 'DOCS', overrides('Docs team'));
    expect((await t.service.forCompose(t.tenant)).headerText).toBe('Acme');
    expect(await t.service.spaceOverrides(t.tenant, 'DOCS', true)).not.toBeNull();
    await new TenantsService(t.node.ds, t.clock as unknown as Clock, t.caches).remove(t.tenant);
    expect(await t.service.forCompose(t.tenant)).toMatchObject({ headerText: '', allowSpaceOverrides: false });
    expect(await t.service.spaceOverrides(t.tenant, 'DOCS', true)).toBeNull();
  });
});
