import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, insertTenant, type TestDatabase } from '../../../test/support/database';
import { databaseKinds } from '../../../test/support/server';
import type { AppConfig, SecretKey } from '../config/app-config';
import { EncryptionSettingsEntity, MailSettingsEntity } from '../database/entities';
import { SecretBox } from './secret-box';
import { SEALED_COLUMNS } from './sealed-columns';
import { formatRotationReport, rotateSecrets } from './secret-rotation';

const k1: SecretKey = { id: 'k1', key: randomBytes(32) };
const k2: SecretKey = { id: 'k2', key: randomBytes(32) };
const box = (...keys: SecretKey[]) => new SecretBox({ secretKeys: keys } as unknown as AppConfig);
const TENANTS = ['tenant-a', 'tenant-b', 'tenant-c'];
const plain = (tenant: string, field: string) => `secret:${tenant}:${field}`;

describe.each(databaseKinds())('key rotation on %s', (kind) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    const old = box(k1);
    const now = new Date();
    for (const t of TENANTS) {
      await insertTenant(db.ds, t);
      // Every sealed column of every table, sealed under the old key (tenant-c has no secrets at all).
      const seal = (property: string) => {
        const spec = SEALED_COLUMNS.find((c) => c.property === property)!;
        return t === 'tenant-c' ? null : old.seal(plain(t, spec.field), t, spec.field);
      };
      await db.ds.getRepository(MailSettingsEntity).insert({
        tenantId: t, senderName: '', senderAddress: 'a@example.com', subjectPrefix: '', serverMode: 'custom', host: 'smtp.example.com', port: 587, security: 'starttls',
        authType: 'password', username: 'u', revision: 1, updatedAt: now,
        passwordSealed: seal('passwordSealed'), oauth2ClientSecretSealed: seal('oauth2ClientSecretSealed'), oauth2PrivateKeySealed: seal('oauth2PrivateKeySealed'), oauth2RefreshTokenSealed: seal('oauth2RefreshTokenSealed'),
      });
      await db.ds.getRepository(EncryptionSettingsEntity).insert({
        tenantId: t, policy: 'off', preferred: 'pgp', sign: false, protectedSubject: '...', updatedAt: now,
        pgpKeySealed: seal('pgpKeySealed'), pgpPassphraseSealed: seal('pgpPassphraseSealed'), smimeP12Sealed: seal('smimeP12Sealed'), smimePasswordSealed: seal('smimePasswordSealed'),
      });
    }
  });
  afterAll(async () => db?.close());

  /** Opens every stored secret with the given box; returns how many opened to the value that was sealed. */
  async function openAll(b: SecretBox): Promise<number> {
    let n = 0;
    for (const spec of SEALED_COLUMNS) {
      for (const row of (await db.ds.getRepository(spec.entity).find()) as Record<string, string | null>[]) {
        const sealed = row[spec.property];
        if (!sealed) continue;
        expect(b.open(sealed, row.tenantId!, spec.field)).toBe(plain(row.tenantId!, spec.field));
        n++;
      }
    }
    return n;
  }

  it('refuses nothing and changes nothing in a dry run, and says which values lack a key', async () => {
    const missing = await rotateSecrets(db.ds, box(k2), { dryRun: true });
    expect(missing.total).toEqual({ resealed: 0, current: 0, unreadable: 16, changedMeanwhile: 0 });
    expect(missing.missingKeyIds).toEqual(['k1']);
    expect(formatRotationReport(missing).at(-1)).toBe('16 secret(s) are sealed under key(s) k1, which are not configured: add them to MAILPAGE_OLD_SECRET_KEYS and run again.');
    const dry = await rotateSecrets(db.ds, box(k2, k1), { dryRun: true });
    expect(dry.total.resealed).toBe(16);
    expect(await openAll(box(k1))).toBe(16);
  });

  it('re-seals every secret under the new key, after which the old key can be removed', async () => {
    const report = await rotateSecrets(db.ds, box(k2, k1));
    expect(report.total).toEqual({ resealed: 16, current: 0, unreadable: 0, changedMeanwhile: 0 });
    expect(report.columns.map((c) => c.column)).toEqual(expect.arrayContaining(['mail_settings.password_sealed', 'mail_settings.oauth2_client_secret_sealed', 'encryption_settings.smime_password_sealed']));
    const lines = formatRotationReport(report);
    expect(lines.at(-1)).toBe('Every stored secret is sealed under k2: the old keys can be removed from MAILPAGE_OLD_SECRET_KEYS.');
    // Counts only: no value in the report.
    for (const t of TENANTS) expect(lines.join('\n')).not.toContain(t);
    expect(await openAll(box(k2))).toBe(16);
    await expect(openAll(box(k1))).rejects.toThrow(/k2/);
  });

  it('is idempotent: a second run finds everything current', async () => {
    const again = await rotateSecrets(db.ds, box(k2, k1));
    expect(again.total).toEqual({ resealed: 0, current: 16, unreadable: 0, changedMeanwhile: 0 });
    expect((await rotateSecrets(db.ds, box(k2))).total.current).toBe(16);
  });

  it('never overwrites a secret that was saved while it ran', async () => {
    const k3: SecretKey = { id: 'k3', key: randomBytes(32) };
    const repo = db.ds.getRepository(MailSettingsEntity);
    const spec = SEALED_COLUMNS.find((c) => c.property === 'passwordSealed')!;
    const saved = box(k2).seal('new-password', 'tenant-a', spec.field);
    // An admin saves tenant-a's password between the rotation's read and its write.
    let first = true;
    const racing = Object.assign(Object.create(db.ds) as typeof db.ds, {
      getRepository: (e: never) => {
        const r = db.ds.getRepository(e);
        if ((e as unknown) !== MailSettingsEntity) return r;
        return Object.assign(Object.create(r) as typeof r, {
          createQueryBuilder: (...a: never[]) => {
            const qb = r.createQueryBuilder(...a);
            if (a.length) return qb;
            return Object.assign(Object.create(qb) as typeof qb, {
              update: () => {
                const ub = qb.update();
                const execute = ub.execute.bind(ub);
                ub.execute = async () => {
                  if (first) {
                    first = false;
                    await repo.update({ tenantId: 'tenant-a' }, { passwordSealed: saved });
                  }
                  return execute();
                };
                return ub;
              },
            });
          },
        });
      },
    });
    const report = await rotateSecrets(racing, box(k3, k2), { columns: [spec] });
    expect(report.total).toEqual({ resealed: 1, current: 0, unreadable: 0, changedMeanwhile: 1 });
    expect(formatRotationReport(report).at(-1)).toBe('Some secrets were changed while this ran: run it again.');
    expect((await repo.findOneByOrFail({ tenantId: 'tenant-a' })).passwordSealed).toBe(saved);
    expect((await rotateSecrets(db.ds, box(k3, k2), { columns: [spec] })).total).toEqual({ resealed: 1, current: 1, unreadable: 0, changedMeanwhile: 0 });
  });
});
