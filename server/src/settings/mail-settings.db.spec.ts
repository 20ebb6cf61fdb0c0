import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, insertTenant, TestClock, type TestDatabase } from '../../../test/support/database';
import { databaseKinds } from '../../../test/support/server';
import { mailSettingsInputSchema } from '@mailpage/contract';
import type { AppConfig } from '../config/app-config';
import type { Clock } from '../common/clock';
import { MailSettingsEntity } from '../database/entities';
import { SecretBox } from '../secrets/secret-box';
import { MailSettingsService } from './mail-settings.service';

const input = (over: Record<string, unknown> = {}) =>
  mailSettingsInputSchema.parse({
    senderName: 'Docs',
    senderAddress: 'docs@example.com',
    subjectPrefix: '[Wiki]',
    server: { mode: 'custom', host: 'smtp.example.com', port: 587, security: 'starttls', auth: { type: 'password', username: 'u1', password: 'pw-Secret-123' }, ...over },
  });

describe.each(databaseKinds())('mail settings on %s', (kind) => {
  let db: TestDatabase;
  let service: MailSettingsService;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    await insertTenant(db.ds, 'tenant-a');
    await insertTenant(db.ds, 'tenant-b');
    const box = new SecretBox({ secretKeys: [{ id: 'k1', key: randomBytes(32) }] } as unknown as AppConfig);
    service = new MailSettingsService(db.ds, box, new TestClock() as unknown as Clock);
  });
  afterAll(async () => db?.close());

  it('stores the password sealed, never as written, and answers only passwordSet', async () => {
    const view = await service.save('tenant-a', input());
    expect(view.server).toMatchObject({ mode: 'custom', auth: { type: 'password', username: 'u1', passwordSet: true } });
    expect(JSON.stringify(view)).not.toContain('pw-Secret-123');
    const row = await db.ds.getRepository(MailSettingsEntity).findOneByOrFail({ tenantId: 'tenant-a' });
    expect(row.passwordSealed).toMatch(/^mp1\.k1\./);
    expect(row.passwordSealed).not.toContain('pw-Secret-123');
    expect((await service.resolve('tenant-a')).target.auth).toEqual({ user: 'u1', pass: 'pw-Secret-123' });
  });

  it('keeps the password for the same host and user, and drops it when the host or user changes', async () => {
    await service.save('tenant-a', input());
    expect((await service.save('tenant-a', input({ auth: { type: 'password', username: 'u1' } }))).server).toMatchObject({ auth: { passwordSet: true } });
    expect((await service.save('tenant-a', input({ host: 'other.example.com', auth: { type: 'password', username: 'u1' } }))).server).toMatchObject({ auth: { passwordSet: false } });
    await service.save('tenant-a', input());
    expect((await service.save('tenant-a', input({ auth: { type: 'password', username: 'u2' } }))).server).toMatchObject({ auth: { passwordSet: false } });
    await service.save('tenant-a', input());
    expect((await service.save('tenant-a', input({ auth: { type: 'password', username: 'u1', password: null } }))).server).toMatchObject({ auth: { passwordSet: false } });
  });

  it('keeps each tenant’s settings apart', async () => {
    await service.save('tenant-a', input());
    expect((await service.view('tenant-b')).configured).toBe(false);
    await expect(service.resolve('tenant-b')).rejects.toMatchObject({ code: 'MAIL_NOT_CONFIGURED' });
    // A sealed password copied into another tenant's row does not open there.
    const a = await db.ds.getRepository(MailSettingsEntity).findOneByOrFail({ tenantId: 'tenant-a' });
    await db.ds.getRepository(MailSettingsEntity).save({ ...a, tenantId: 'tenant-b' });
    await expect(service.resolve('tenant-b')).rejects.toThrow();
  });
});
