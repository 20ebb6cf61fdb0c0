import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { countingNode, createTestDatabase, insertTenant, TestClock, type TestDatabase } from '../../../test/support/database';
import { databaseKinds } from '../../../test/support/server';
import type { Clock } from '../common/clock';
import type { AppConfig } from '../config/app-config';
import type { ConfluenceClient } from '../confluence/confluence.client';
import type { MailCryptoService } from '../crypto/mail-crypto.service';
import { EncryptionSettingsEntity, PublicKeyEntity } from '../database/entities';
import { SecretBox } from '../secrets/secret-box';
import { SETTINGS_CACHE_TTL_MS } from '../settings/row-cache';
import { EncryptionService } from './encryption.service';
import { KeysService } from './keys.service';

const TENANT = 'tenant-plan';
const NOW = new Date('2026-11-01T12:00:00.000Z');

describe.each(databaseKinds())('planning an encrypted send on %s', (kind) => {
  let db: TestDatabase;
  let node: { ds: DataSource; statements: string[] };
  let encryption: EncryptionService;
  let keys: KeysService;
  let clock: TestClock;
  const keyQueries = () => node.statements.filter((s) => /^SELECT/i.test(s.trim()) && s.includes('public_keys')).length;

  const addKey = (email: string, kind: 'pgp' | 'smime', expiresAt: string | null = null) =>
    db.ds.getRepository(PublicKeyEntity).insert({
      id: randomUUID(),
      tenantId: TENANT,
      accountId: null,
      email,
      kind,
      fingerprint: randomBytes(20).toString('hex'),
      keyText: `${kind} key of ${email}`,
      meta: JSON.stringify({ emails: [email], algorithm: 'test', bits: null, createdAt: null, expiresAt }),
      uploadedAt: NOW,
    });
  /** Written as another node would: the service sees it once its cached settings are older than the TTL. */
  const setPolicy = async (policy: 'off' | 'opportunistic' | 'required', preferred: 'pgp' | 'smime' = 'pgp') => {
    await db.ds.getRepository(EncryptionSettingsEntity).save({
      tenantId: TENANT,
      policy,
      preferred,
      sign: false,
      protectedSubject: '[...]',
      pgpKeySealed: null,
      pgpPassphraseSealed: null,
      pgpMeta: null,
      smimeP12Sealed: null,
      smimePasswordSealed: null,
      smimeMeta: null,
      updatedAt: NOW,
    });
    clock.advance(SETTINGS_CACHE_TTL_MS + 1);
  };

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    await insertTenant(db.ds, TENANT);
    await addKey('ann@example.org', 'pgp');
    await addKey('ben@example.org', 'pgp');
    await addKey('ben@example.org', 'smime');
    await addKey('cy@example.org', 'smime');
    await addKey('old@example.org', 'pgp', '2026-01-01T00:00:00.000Z');
    node = await countingNode(db.ds);
    clock = new TestClock(NOW);
    keys = new KeysService(node.ds, {} as MailCryptoService, {} as ConfluenceClient, clock as unknown as Clock);
    const box = new SecretBox({ secretKeys: [{ id: 'k1', key: randomBytes(32) }] } as unknown as AppConfig);
    encryption = new EncryptionService(node.ds, box, {} as MailCryptoService, keys, clock as unknown as Clock);
  });
  afterAll(async () => {
    await node?.ds.destroy();
    await db?.close();
  });
  beforeEach(async () => {
    await setPolicy('opportunistic');
    node.statements.length = 0;
  });

  it('reads the recipients’ keys in one query and hands over the chosen kind’s keys by address', async () => {
    const plan = await encryption.plan(TENANT, 'pgp', ['Ann@Example.org', 'ben@example.org']);
    expect(plan).toMatchObject({ method: 'pgp', encrypt: true, sign: false });
    expect(plan.recipientKeys).toEqual(new Map([['ann@example.org', 'pgp key of ann@example.org'], ['ben@example.org', 'pgp key of ben@example.org']]));
    expect(keyQueries()).toBe(1);
  });

  it('falls back to the other kind with one query when "automatic" finds no key of the preferred kind for everyone', async () => {
    const plan = await encryption.plan(TENANT, 'auto', ['ben@example.org', 'cy@example.org']);
    expect(plan.method).toBe('smime');
    expect(plan.recipientKeys).toEqual(new Map([['ben@example.org', 'smime key of ben@example.org'], ['cy@example.org', 'smime key of cy@example.org']]));
    expect(keyQueries()).toBe(1);
  });

  it('sends plain without keys when "automatic" finds none for someone, and names who lacks one when encryption is required', async () => {
    const plain = await encryption.plan(TENANT, 'auto', ['ann@example.org', 'old@example.org']);
    expect(plain).toMatchObject({ method: null, encrypt: false, recipientKeys: new Map() });
    expect(keyQueries()).toBe(1);
    await setPolicy('required');
    await expect(encryption.plan(TENANT, 'pgp', ['ann@example.org', 'old@example.org', 'nobody@example.org'])).rejects.toMatchObject({
      code: 'RECIPIENT_KEY_MISSING',
      details: { missing: ['old@example.org', 'nobody@example.org'], method: 'pgp' },
    });
  });

  it('asks for no keys when the sender or the site does not encrypt', async () => {
    expect((await encryption.plan(TENANT, 'none', ['ann@example.org'])).method).toBeNull();
    await setPolicy('off');
    expect((await encryption.plan(TENANT, 'auto', ['ann@example.org'])).method).toBeNull();
    expect(keyQueries()).toBe(0);
  });

  it('shows the same key status to the preview as the plan decides on', async () => {
    expect(await keys.status(TENANT, ['ann@example.org', 'BEN@example.org', 'old@example.org'])).toEqual([
      { address: 'ann@example.org', pgp: true, smime: false },
      { address: 'BEN@example.org', pgp: true, smime: true },
      { address: 'old@example.org', pgp: false, smime: false },
    ]);
  });
});
