import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, insertTenant, type TestDatabase } from '../../../test/support/database';
import { databaseKinds } from '../../../test/support/server';
import { SendEntity } from '../database/entities';
import { SendLedger } from './send-ledger';

const row = (tenantId: string, key: string | null): SendEntity =>
  Object.assign(new SendEntity(), {
    id: randomUUID(), tenantId, accountId: 'acc', idempotencyKey: key, requestMac: 'mac', status: 'sending', pageId: null, spaceKey: null,
    recipientCount: 1, rejectedPositions: null, encryption: 'none', smtpCode: null, messageId: null, errorCode: null, sizeBytes: 10, durationMs: null,
    createdAt: new Date(), finishedAt: null,
  });

describe.each(databaseKinds())('idempotency records on %s', (kind) => {
  let db: TestDatabase;
  let ledger: SendLedger;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    await insertTenant(db.ds, 't1');
    await insertTenant(db.ds, 't2');
    ledger = new SendLedger(db.ds);
  });
  afterAll(async () => db?.close());

  it('lets exactly one of many concurrent requests with the same key through', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => ledger.reserve(row('t1', 'same-key'))));
    expect(results.filter((r) => r.reserved)).toHaveLength(1);
    const losers = results.filter((r) => !r.reserved) as { reserved: false; existing: SendEntity }[];
    expect(new Set(losers.map((l) => l.existing.id)).size).toBe(1);
  });

  it('scopes keys to the tenant, and lets rows without a key through', async () => {
    expect((await ledger.reserve(row('t2', 'same-key'))).reserved).toBe(true);
    expect((await ledger.reserve(row('t1', null))).reserved).toBe(true);
    expect((await ledger.reserve(row('t1', null))).reserved).toBe(true);
  });

  it('frees a key when it is released after a send that delivered nothing', async () => {
    const first = row('t1', 'retry-key');
    await ledger.reserve(first);
    await ledger.finish(first.id, { status: 'failed', errorCode: 'SMTP_CONNECT_FAILED', idempotencyKey: null });
    expect((await ledger.reserve(row('t1', 'retry-key'))).reserved).toBe(true);
  });
});
