import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource, type Logger } from 'typeorm';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { dataSourceOptions } from '../../server/src/database/data-source-options';
import { TenantEntity } from '../../server/src/database/entities';
import { TenantCaches } from '../../server/src/tenants/tenant-caches';
import { createMysqlDatabase } from './server';

export interface TestDatabase {
  ds: DataSource;
  kind: 'sqlite' | 'mysql';
  close: () => Promise<void>;
}

/** A fresh schema, built by the real migrations, on SQLite (a temp file) or on MariaDB/MySQL (a new database). */
export async function createTestDatabase(kind: 'sqlite' | 'mysql'): Promise<TestDatabase> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'mailpage-db-'));
    const ds = await new DataSource(dataSourceOptions({ type: 'sqlite', path: join(dir, 'test.sqlite') })).initialize();
    return { ds, kind, close: async () => { await ds.destroy(); rmSync(dir, { recursive: true, force: true }); } };
  }
  const db = await createMysqlDatabase();
  const ds = await new DataSource(dataSourceOptions({ type: 'mysql', url: db.url })).initialize();
  return { ds, kind, close: async () => { await ds.destroy(); await db.drop(); } };
}

export async function insertTenant(ds: DataSource, id: string): Promise<void> {
  const now = new Date();
  await ds.getRepository(TenantEntity).insert({ id, apiBaseUrl: 'https://api.atlassian.com/ex/confluence/x', installedAt: now, lastSeenAt: now, auditRetentionDays: null });
}

/** A clock the test moves by hand. */
export class TestClock {
  constructor(private t = new Date('2026-11-01T12:00:00.000Z')) {}
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): void {
    this.t = new Date(this.t.getTime() + ms);
  }
}

/** Another connection pool on the same database (a node of its own) that records every statement it runs. */
export async function countingNode(ds: DataSource): Promise<{ ds: DataSource; statements: string[] }> {
  const statements: string[] = [];
  const ignore = () => undefined;
  const logger: Logger = { logQuery: (q) => void statements.push(q), logQueryError: ignore, logQuerySlow: ignore, logSchemaBuild: ignore, logMigration: ignore, log: ignore };
  const node = await new DataSource({ ...ds.options, migrationsRun: false, logger }).initialize();
  statements.length = 0;
  return { ds: node, statements };
}

export interface CachingNode {
  /** The database, reached without counting (as another node would). */
  readonly db: TestDatabase;
  /** This node: its statements are counted from the end of each test's setup. */
  readonly node: { ds: DataSource; statements: string[] };
  readonly clock: TestClock;
  readonly caches: TenantCaches;
  readonly tenant: string;
}

/**
 * The hooks of a spec about what a node caches: a database and a counting node per file; per test a new tenant, clock
 * and TenantCaches, so no test sees what another cached, then what `build` makes of them. The handle holds the current test's.
 */
export function useCachingNode<S extends object>(kind: 'sqlite' | 'mysql', build: (t: CachingNode) => S): CachingNode & S {
  const t = {} as { -readonly [K in keyof CachingNode]: CachingNode[K] } & S;
  let n = 0;
  beforeAll(async () => {
    t.db = await createTestDatabase(kind);
    t.node = await countingNode(t.db.ds);
  });
  afterAll(async () => {
    await t.node?.ds.destroy();
    await t.db?.close();
  });
  beforeEach(async () => {
    t.tenant = `tenant-${++n}`;
    await insertTenant(t.db.ds, t.tenant);
    t.clock = new TestClock();
    t.caches = new TenantCaches();
    Object.assign(t, build(t));
    t.node.statements.length = 0;
  });
  return t;
}
