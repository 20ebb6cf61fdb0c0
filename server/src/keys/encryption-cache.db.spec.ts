import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { encryptionSettingsSchema } from '@mailpage/contract';
import { useCachingNode } from '../../../test/support/database';
import { databaseKinds } from '../../../test/support/server';
import type { Clock } from '../common/clock';
import type { AppConfig } from '../config/app-config';
import type { ConfluenceClient } from '../confluence/confluence.client';
import type { MailCryptoService } from '../crypto/mail-crypto.service';
import { SecretBox } from '../secrets/secret-box';
import { SETTINGS_CACHE_TTL_MS } from '../settings/row-cache';
import { TenantsService } from '../tenants/tenants.service';
import { EncryptionService } from './encryption.service';
import { KeysService } from './keys.service';

/** The signing key is taken as it is: this spec is about which row a send reads, not about OpenPGP. */
const crypto = { checkPgpSigner: async () => ({ fingerprint: 'f'.repeat(40), emails: ['docs@example.com'], expires: null }) } as unknown as MailCryptoService;

const settings = (policy: 'off' | 'opportunistic' | 'required', more: Record<string, unknown> = {}) => encryptionSettingsSchema.parse({ policy, ...more });
const ARMORED = '-----BEGIN PGP PRIVATE KEY BLOCK-----\nsecret-key-one\n-----END PGP PRIVATE KEY BLOCK-----';
const PASSPHRASE = 'passphrase-one';

describe.each(databaseKinds())('encryption settings read per send, cached on the node, on %s', (kind) => {
  const box = new SecretBox({ secretKeys: [{ id: 'k1', key: randomBytes(32) }] } as unknown as AppConfig);
  const t = useCachingNode(kind, ({ db, node, clock, caches }) => {
    const c = clock as unknown as Clock;
    return {
      service: new EncryptionService(node.ds, box, crypto, new KeysService(node.ds, crypto, {} as ConfluenceClient, c), c, caches),
      otherNode: new EncryptionService(db.ds, box, crypto, new KeysService(db.ds, crypto, {} as ConfluenceClient, c), c),
    };
  });
  const reads = () => t.node.statements.filter((s) => /^SELECT/i.test(s.trim()) && s.includes('encryption_settings')).length;
  const plain = ['nobody@example.org'];

  it('reads the settings once for the sends within the TTL, and a missing row as "off"', async () => {
    for (let i = 0; i < 5; i++) expect(await t.service.plan(t.tenant, 'auto', plain)).toMatchObject({ method: null, encrypt: false, sign: false, outerSubject: '[...]' });
    await expect(t.service.plan(t.tenant, 'pgp', plain)).rejects.toMatchObject({ message: expect.stringContaining('Encryption is turned off') });
    expect(reads()).toBe(1);
    expect(t.node.statements).toHaveLength(1);
  });

  it('applies settings saved on this node at the very next send', async () => {
    await t.service.plan(t.tenant, 'none', plain);
    await t.service.save(t.tenant, settings('required'));
    await expect(t.service.plan(t.tenant, 'none', plain)).rejects.toMatchObject({ code: 'RECIPIENT_KEY_MISSING' });
    await t.service.save(t.tenant, settings('off', { protectedSubject: 'Protected' }));
    expect(await t.service.plan(t.tenant, 'none', plain)).toMatchObject({ method: null, outerSubject: 'Protected' });
  });

  it('reads again once the TTL is over, and sees then what another node saved', async () => {
    expect((await t.service.plan(t.tenant, 'none', plain)).method).toBeNull();
    await t.otherNode.save(t.tenant, settings('required'));
    t.clock.advance(SETTINGS_CACHE_TTL_MS - 1);
    expect((await t.service.plan(t.tenant, 'none', plain)).method).toBeNull();
    t.clock.advance(2);
    await expect(t.service.plan(t.tenant, 'none', plain)).rejects.toMatchObject({ code: 'RECIPIENT_KEY_MISSING' });
    expect(reads()).toBe(2);
  });

  it('shows the site admin what is saved, never a cached copy', async () => {
    await t.service.plan(t.tenant, 'none', plain);
    await t.otherNode.save(t.tenant, settings('opportunistic', { protectedSubject: 'Elsewhere' }));
    expect(await t.service.view(t.tenant)).toMatchObject({ policy: 'opportunistic', protectedSubject: 'Elsewhere' });
  });

  it('keeps the signing key sealed in the cache and opens it for each send', async () => {
    await t.service.save(t.tenant, settings('off', { sign: true, pgpSigningKey: { armored: ARMORED, passphrase: PASSPHRASE } }));
    t.node.statements.length = 0;
    const open = vi.spyOn(box, 'open');
    for (let i = 0; i < 2; i++) expect((await t.service.plan(t.tenant, 'none', plain)).signer).toEqual({ method: 'pgp', armoredKey: ARMORED, passphrase: PASSPHRASE });
    expect(open).toHaveBeenCalledTimes(4);
    expect(open.mock.calls[0][0]).toMatch(/^mp1\.k1\./);
    expect(reads()).toBe(1);
    // Nothing the cache holds is the key or its passphrase in the clear.
    const held = JSON.stringify([...t.service['cached']['entries'].values()]);
    expect(held).toContain('mp1.k1.');
    expect(held).not.toContain('secret-key-one');
    expect(held).not.toContain(PASSPHRASE);
    open.mockRestore();
  });

  it('does not keep the sealed signing key while signing is off, and signs with a key saved on this node at the next send', async () => {
    await t.service.save(t.tenant, settings('off', { sign: false, pgpSigningKey: { armored: ARMORED, passphrase: PASSPHRASE } }));
    expect((await t.service.plan(t.tenant, 'none', plain)).sign).toBe(false);
    expect(JSON.stringify([...t.service['cached']['entries'].values()])).not.toContain('mp1.');
    await t.service.save(t.tenant, settings('off', { sign: true }));
    expect((await t.service.plan(t.tenant, 'none', plain)).signer).toMatchObject({ method: 'pgp', armoredKey: ARMORED });
    await t.service.save(t.tenant, settings('off', { sign: true, pgpSigningKey: { armored: ARMORED.replace('one', 'two'), passphrase: 'passphrase-two' } }));
    expect((await t.service.plan(t.tenant, 'none', plain)).signer).toEqual({ method: 'pgp', armoredKey: ARMORED.replace('one', 'two'), passphrase: 'passphrase-two' });
  });

  it('forgets a tenant whose data is deleted on this node', async () => {
    await t.service.save(t.tenant, settings('required'));
    await expect(t.service.plan(t.tenant, 'none', plain)).rejects.toMatchObject({ code: 'RECIPIENT_KEY_MISSING' });
    await new TenantsService(t.node.ds, t.clock as unknown as Clock, t.caches).remove(t.tenant);
    expect((await t.service.plan(t.tenant, 'none', plain)).method).toBeNull();
  });
});
