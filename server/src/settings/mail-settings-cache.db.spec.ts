import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DataSource } from 'typeorm';
import { mailSettingsInputSchema } from '@mailpage/contract';
import { countingNode, createTestDatabase, insertTenant, TestClock, type TestDatabase } from '../../../test/support/database';
import { databaseKinds } from '../../../test/support/server';
import type { Clock } from '../common/clock';
import type { AppConfig } from '../config/app-config';
import { OAuth2Tokens } from '../mail/smtp/oauth2-tokens';
import { SecretBox } from '../secrets/secret-box';
import { TenantCaches } from '../tenants/tenant-caches';
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
  let db: TestDatabase;
  let node: { ds: DataSource; statements: string[] };
  let clock: TestClock;
  let caches: TenantCaches;
  let box: SecretBox;
  let service: MailSettingsService;
  const reads = () => node.statements.filter((s) => /^SELECT/i.test(s.trim()) && s.includes('mail_settings')).length;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    node = await countingNode(db.ds);
  });
  afterAll(async () => {
    await node?.ds.destroy();
    await db?.close();
  });
  beforeEach(async () => {
    clock = new TestClock();
    caches = new TenantCaches();
    const config = { secretKeys: [{ id: 'k1', key: randomBytes(32) }], provided: null, dkim: null, oauth2: {}, smtp: {} } as unknown as AppConfig;
    box = new SecretBox(config);
    const c = clock as unknown as Clock;
    service = new MailSettingsService(node.ds, box, c, config, new OAuth2Tokens(config, box), new ProvidedQuota(node.ds, config, c), caches);
    node.statements.length = 0;
  });

  it('reads the row once for the sends within the TTL', async () => {
    await insertTenant(db.ds, 'tenant-ttl');
    await service.save('tenant-ttl', input('u1', 'pw-One-111'));
    node.statements.length = 0;
    for (let i = 0; i < 5; i++) expect((await service.resolve('tenant-ttl')).target.auth).toEqual({ user: 'u1', pass: 'pw-One-111' });
    expect(reads()).toBe(1);
    expect(node.statements).toHaveLength(1);
  });

  it('reads again once the TTL is over, and sees then what another node saved', async () => {
    await insertTenant(db.ds, 'tenant-other');
    await service.save('tenant-other', input('u1', 'pw-One-111'));
    await service.resolve('tenant-other');
    // Saved on another node: this node goes on with the row it read until the TTL is over.
    const otherNode = new MailSettingsService(db.ds, box, clock as unknown as Clock, { provided: null } as unknown as AppConfig, {} as OAuth2Tokens, {} as ProvidedQuota);
    await otherNode.save('tenant-other', input('u2', 'pw-Two-222'));
    clock.advance(SETTINGS_CACHE_TTL_MS - 1);
    expect((await service.resolve('tenant-other')).target.auth).toEqual({ user: 'u1', pass: 'pw-One-111' });
    clock.advance(2);
    expect((await service.resolve('tenant-other')).target.auth).toEqual({ user: 'u2', pass: 'pw-Two-222' });
    node.statements.length = 0;
    await service.resolve('tenant-other');
    expect(reads()).toBe(0);
  });

  it('uses what was saved on this node at the very next send', async () => {
    await insertTenant(db.ds, 'tenant-save');
    await service.save('tenant-save', input('u1', 'pw-One-111'));
    expect((await service.resolve('tenant-save')).target.key).toMatch(/^tenant-save:1:/);
    await service.save('tenant-save', input('u2', 'pw-Two-222'));
    const r = await service.resolve('tenant-save');
    expect(r.target.auth).toEqual({ user: 'u2', pass: 'pw-Two-222' });
    expect(r.target.key).toMatch(/^tenant-save:2:/);
  });

  it('does not keep "not set up": settings saved meanwhile on another node work at the next send', async () => {
    await insertTenant(db.ds, 'tenant-new');
    await expect(service.resolve('tenant-new')).rejects.toMatchObject({ code: 'MAIL_NOT_CONFIGURED' });
    const otherNode = new MailSettingsService(db.ds, box, clock as unknown as Clock, { provided: null } as unknown as AppConfig, {} as OAuth2Tokens, {} as ProvidedQuota);
    await otherNode.save('tenant-new', input('u1', 'pw-One-111'));
    expect((await service.resolve('tenant-new')).senderAddress).toBe('docs@example.com');
  });

  it('keeps the password sealed in the cache and opens it for each send', async () => {
    await insertTenant(db.ds, 'tenant-sealed');
    await service.save('tenant-sealed', input('u1', 'pw-Sealed-333'));
    node.statements.length = 0;
    const open = vi.spyOn(box, 'open');
    await service.resolve('tenant-sealed');
    await service.resolve('tenant-sealed');
    expect(open).toHaveBeenCalledTimes(2);
    expect(open.mock.calls[0][0]).toMatch(/^mp1\.k1\./);
    expect(reads()).toBe(1);
  });

  it('reads a connection test’s saved secrets from the database, not from the cache', async () => {
    await insertTenant(db.ds, 'tenant-verify');
    await service.save('tenant-verify', input('u1', 'pw-One-111'));
    await service.resolve('tenant-verify');
    node.statements.length = 0;
    await service.resolve('tenant-verify', mailSettingsInputSchema.parse({ senderAddress: 'docs@example.com', server: { mode: 'custom', host: 'smtp.example.com', port: 587, security: 'starttls', auth: { type: 'password', username: 'u1' } } }));
    expect(reads()).toBe(1);
  });

  it('forgets a tenant whose data is deleted on this node', async () => {
    await insertTenant(db.ds, 'tenant-gone');
    await service.save('tenant-gone', input('u1', 'pw-One-111'));
    await service.resolve('tenant-gone');
    await new TenantsService(node.ds, clock as unknown as Clock, caches).remove('tenant-gone');
    await expect(service.resolve('tenant-gone')).rejects.toMatchObject({ code: 'MAIL_NOT_CONFIGURED' });
  });
});
