import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DataSource } from 'typeorm';
import { encryptionSettingsSchema } from '@mailpage/contract';
import { countingNode, createTestDatabase, insertTenant, TestClock, type TestDatabase } from '../../../test/support/database';
import { databaseKinds } from '../../../test/support/server';
import type { Clock } from '../common/clock';
import type { AppConfig } from '../config/app-config';
import type { ConfluenceClient } from '../confluence/confluence.client';
import type { MailCryptoService } from '../crypto/mail-crypto.service';
import { SecretBox } from '../secrets/secret-box';
import { SETTINGS_CACHE_TTL_MS } from '../settings/row-cache';
import { TenantCaches } from '../tenants/tenant-caches';
import { TenantsService } from '../tenants/tenants.service';
import { EncryptionService } from './encryption.service';
import { KeysService } from './keys.service';

/** The signing key is taken as it is: this spec is about which row a send reads, not about OpenPGP. */
const crypto = { checkPgpSigner: async () => ({ fingerprint: 'f'.repeat(40), emails: ['docs@example.com'], expires: null }) } as unknown as MailCryptoService;

const settings = (policy: 'off' | 'opportunistic' | 'required', more: Record<string, unknown> = {}) => encryptionSettingsSchema.parse({ policy, ...more });
const ARMORED = '-----BEGIN PGP PRIVATE KEY BLOCK-----\nsecret-key-one\n-----END PGP PRIVATE KEY BLOCK-----';
const PASSPHRASE = 'passphrase-one';

describe.each(databaseKinds())('encryption settings read per send, cached on the node, on %s', (kind) => {
  let db: TestDatabase;
  let node: { ds: DataSource; statements: string[] };
  let clock: TestClock;
  let caches: TenantCaches;
  let box: SecretBox;
  let service: EncryptionService;
  let otherNode: EncryptionService;
  let tenant: string;
  let n = 0;
  const reads = () => node.statements.filter((s) => /^SELECT/i.test(s.trim()) && s.includes('encryption_settings')).length;
  const plain = ['nobody@example.org'];

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    node = await countingNode(db.ds);
    box = new SecretBox({ secretKeys: [{ id: 'k1', key: randomBytes(32) }] } as unknown as AppConfig);
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
    service = new EncryptionService(node.ds, box, crypto, new KeysService(node.ds, crypto, {} as ConfluenceClient, c), c, caches);
    otherNode = new EncryptionService(db.ds, box, crypto, new KeysService(db.ds, crypto, {} as ConfluenceClient, c), c);
    node.statements.length = 0;
  });

  it('reads the settings once for the sends within the TTL, and a missing row as "off"', async () => {
    for (let i = 0; i < 5; i++) expect(await service.plan(tenant, 'auto', plain)).toMatchObject({ method: null, encrypt: false, sign: false, outerSubject: '[...]' });
    await expect(service.plan(tenant, 'pgp', plain)).rejects.toMatchObject({ message: expect.stringContaining('Encryption is turned off') });
    expect(reads()).toBe(1);
    expect(node.statements).toHaveLength(1);
  });

  it('applies settings saved on this node at the very next send', async () => {
    await service.plan(tenant, 'none', plain);
    await service.save(tenant, settings('required'));
    await expect(service.plan(tenant, 'none', plain)).rejects.toMatchObject({ code: 'RECIPIENT_KEY_MISSING' });
    await service.save(tenant, settings('off', { protectedSubject: 'Protected' }));
    expect(await service.plan(tenant, 'none', plain)).toMatchObject({ method: null, outerSubject: 'Protected' });
  });

  it('reads again once the TTL is over, and sees then what another node saved', async () => {
    expect((await service.plan(tenant, 'none', plain)).method).toBeNull();
    await otherNode.save(tenant, settings('required'));
    clock.advance(SETTINGS_CACHE_TTL_MS - 1);
    expect((await service.plan(tenant, 'none', plain)).method).toBeNull();
    clock.advance(2);
    await expect(service.plan(tenant, 'none', plain)).rejects.toMatchObject({ code: 'RECIPIENT_KEY_MISSING' });
    expect(reads()).toBe(2);
  });

  it('shows the site admin what is saved, never a cached copy', async () => {
    await service.plan(tenant, 'none', plain);
    await otherNode.save(tenant, settings('opportunistic', { protectedSubject: 'Elsewhere' }));
    expect(await service.view(tenant)).toMatchObject({ policy: 'opportunistic', protectedSubject: 'Elsewhere' });
  });

  it('keeps the signing key sealed in the cache and opens it for each send', async () => {
    await service.save(tenant, settings('off', { sign: true, pgpSigningKey: { armored: ARMORED, passphrase: PASSPHRASE } }));
    node.statements.length = 0;
    const open = vi.spyOn(box, 'open');
    for (let i = 0; i < 2; i++) expect((await service.plan(tenant, 'none', plain)).signer).toEqual({ method: 'pgp', armoredKey: ARMORED, passphrase: PASSPHRASE });
    expect(open).toHaveBeenCalledTimes(4);
    expect(open.mock.calls[0][0]).toMatch(/^mp1\.k1\./);
    expect(reads()).toBe(1);
    // Nothing the cache holds is the key or its passphrase in the clear.
    const held = JSON.stringify([...service['cached']['entries'].values()]);
    expect(held).toContain('mp1.k1.');
    expect(held).not.toContain('secret-key-one');
    expect(held).not.toContain(PASSPHRASE);
    open.mockRestore();
  });

  it('does not keep the sealed signing key while signing is off, and signs with a key saved on this node at the next send', async () => {
    await service.save(tenant, settings('off', { sign: false, pgpSigningKey: { armored: ARMORED, passphrase: PASSPHRASE } }));
    expect((await service.plan(tenant, 'none', plain)).sign).toBe(false);
    expect(JSON.stringify([...service['cached']['entries'].values()])).not.toContain('mp1.');
    await service.save(tenant, settings('off', { sign: true }));
    expect((await service.plan(tenant, 'none', plain)).signer).toMatchObject({ method: 'pgp', armoredKey: ARMORED });
    await service.save(tenant, settings('off', { sign: true, pgpSigningKey: { armored: ARMORED.replace('one', 'two'), passphrase: 'passphrase-two' } }));
    expect((await service.plan(tenant, 'none', plain)).signer).toEqual({ method: 'pgp', armoredKey: ARMORED.replace('one', 'two'), passphrase: 'passphrase-two' });
  });

  it('forgets a tenant whose data is deleted on this node', async () => {
    await service.save(tenant, settings('required'));
    await expect(service.plan(tenant, 'none', plain)).rejects.toMatchObject({ code: 'RECIPIENT_KEY_MISSING' });
    await new TenantsService(node.ds, clock as unknown as Clock, caches).remove(tenant);
    expect((await service.plan(tenant, 'none', plain)).method).toBeNull();
  });
});
