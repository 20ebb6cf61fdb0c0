import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { mailSettingsInputSchema } from '@mailpage/contract';
import { insertTenant, useCachingNode } from '../../../test/support/database';
import { databaseKinds } from '../../../test/support/server';
import type { Clock } from '../common/clock';
import type { AppConfig } from '../config/app-config';
import { OAuth2Tokens } from '../mail/smtp/oauth2-tokens';
import { SecretBox } from '../secrets/secret-box';
import { TenantsService } from '../tenants/tenants.service';
import { MailSettingsService } from './mail-settings.service';
import { ProvidedQuota } from './provided-quota.service';
import { SETTINGS_CACHE_TTL_MS } from './row-cache';

const input = (username: string, password: string) =>
  mailSettingsInputSchema.parse({
    senderName: 'Docs',
    senderAddress: 'docs@example.com',
    server: { mode: 'custom', host: 'smtp.example.com', port: 587, security: 'starttls', auth: { type: 'password', username, password } },
  });

describe.each(databaseKinds())('mail settings read per send, cached on the node, on %s', (kind) => {
  const t = useCachingNode(kind, ({ node, clock, caches }) => {
    const config = { secretKeys: [{ id: 'k1', key: randomBytes(32) }], provided: null, dkim: null, oauth2: {}, smtp: {} } as unknown as AppConfig;
    const box = new SecretBox(config);
    const c = clock as unknown as Clock;
    return { box, service: new MailSettingsService(node.ds, box, c, config, new OAuth2Tokens(config, box), new ProvidedQuota(node.ds, config, c), caches) };
  });
  const reads = () => t.node.statements.filter((s) => /^SELECT/i.test(s.trim()) && s.includes('mail_settings')).length;

  it('reads the row once for the sends within the TTL', async () => {
    await insertTenant(t.db.ds, 'tenant-ttl');
    await t.service.save('tenant-ttl', input('u1', 'pw-One-111'));
    t.node.statements.length = 0;
    for (let i = 0; i < 5; i++) expect((await t.service.resolve('tenant-ttl')).target.auth).toEqual({ user: 'u1', pass: 'pw-One-111' });
    expect(reads()).toBe(1);
    expect(t.node.statements).toHaveLength(1);
  });

  it('reads again once the TTL is over, and sees then what another node saved', async () => {
    await insertTenant(t.db.ds, 'tenant-other');
    await t.service.save('tenant-other', input('u1', 'pw-One-111'));
    await t.service.resolve('tenant-other');
    // Saved on another node: this node goes on with the row it read until the TTL is over.
    const otherNode = new MailSettingsService(t.db.ds, t.box, t.clock as unknown as Clock, { provided: null } as unknown as AppConfig, {} as OAuth2Tokens, {} as ProvidedQuota);
    await otherNode.save('tenant-other', input('u2', 'pw-Two-222'));
    t.clock.advance(SETTINGS_CACHE_TTL_MS - 1);
    expect((await t.service.resolve('tenant-other')).target.auth).toEqual({ user: 'u1', pass: 'pw-One-111' });
    t.clock.advance(2);
    expect((await t.service.resolve('tenant-other')).target.auth).toEqual({ user: 'u2', pass: 'pw-Two-222' });
    t.node.statements.length = 0;
    await t.service.resolve('tenant-other');
    expect(reads()).toBe(0);
  });

  it('uses what was saved on this node at the very next send', async () => {
    await insertTenant(t.db.ds, 'tenant-save');
    await t.service.save('tenant-save', input('u1', 'pw-One-111'));
    expect((await t.service.resolve('tenant-save')).target.key).toMatch(/^tenant-save:1:/);
    await t.service.save('tenant-save', input('u2', 'pw-Two-222'));
    const r = await t.service.resolve('tenant-save');
    expect(r.target.auth).toEqual({ user: 'u2', pass: 'pw-Two-222' });
    expect(r.target.key).toMatch(/^tenant-save:2:/);
  });

  it('does not keep "not set up": settings saved meanwhile on another node work at the next send', async () => {
    await insertTenant(t.db.ds, 'tenant-new');
    await expect(t.service.resolve('tenant-new')).rejects.toMatchObject({ code: 'MAIL_NOT_CONFIGURED' });
    const otherNode = new MailSettingsService(t.db.ds, t.box, t.clock as unknown as Clock, { provided: null } as unknown as AppConfig, {} as OAuth2Tokens, {} as ProvidedQuota);
    await otherNode.save('tenant-new', input('u1', 'pw-One-111'));
    expect((await t.service.resolve('tenant-new')).senderAddress).toBe('docs@example.com');
  });

  it('keeps the password sealed in the cache and opens it for each send', async () => {
    await insertTenant(t.db.ds, 'tenant-sealed');
    await t.service.save('tenant-sealed', input('u1', 'pw-Sealed-333'));
    t.node.statements.length = 0;
    const open = vi.spyOn(t.box, 'open');
    await t.service.resolve('tenant-sealed');
    await t.service.resolve('tenant-sealed');
    expect(open).toHaveBeenCalledTimes(2);
    expect(open.mock.calls[0][0]).toMatch(/^mp1\.k1\./);
    expect(reads()).toBe(1);
  });

  it('reads a connection test’s saved secrets from the database, not from the cache', async () => {
    await insertTenant(t.db.ds, 'tenant-verify');
    await t.service.save('tenant-verify', input('u1', 'pw-One-111'));
    await t.service.resolve('tenant-verify');
    t.node.statements.length = 0;
    await t.service.resolve('tenant-verify', mailSettingsInputSchema.parse({ senderAddress: 'docs@example.com', server: { mode: 'custom', host: 'smtp.example.com', port: 587, security: 'starttls', auth: { type: 'password', username: 'u1' } } }));
    expect(reads()).toBe(1);
  });

  it('forgets a tenant whose data is deleted on this node', async () => {
    await insertTenant(t.db.ds, 'tenant-gone');
    await t.service.save('tenant-gone', input('u1', 'pw-One-111'));
    await t.service.resolve('tenant-gone');
    await new TenantsService(t.node.ds, t.clock as unknown as Clock, t.caches).remove('tenant-gone');
    await expect(t.service.resolve('tenant-gone')).rejects.toMatchObject({ code: 'MAIL_NOT_CONFIGURED' });
  });
});
