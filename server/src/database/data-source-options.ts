import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import type { AppConfig } from '../config/app-config';
import { ENTITIES } from './entities';
import { Initial1764000000000 } from './migrations/1764000000000-initial';
import { Permissions1764000100000 } from './migrations/1764000100000-permissions';
import { Keys1764000200000 } from './migrations/1764000200000-keys';
import { RateLimits1764000300000 } from './migrations/1764000300000-rate-limits';
import { OAuth21764000400000 } from './migrations/1764000400000-oauth2';
import { TrustedCa1764000500000 } from './migrations/1764000500000-trusted-ca';
import { Layout1764000600000 } from './migrations/1764000600000-layout';

export const MIGRATIONS = [Initial1764000000000, Permissions1764000100000, Keys1764000200000, RateLimits1764000300000, OAuth21764000400000, TrustedCa1764000500000, Layout1764000600000];

/** One place that turns configuration into TypeORM options; the schema always comes from migrations. */
export function dataSourceOptions(db: AppConfig['database']): DataSourceOptions {
  const common = { entities: ENTITIES, migrations: MIGRATIONS, migrationsRun: true, synchronize: false, logging: false } as const;
  if (db.type === 'sqlite') {
    if (db.path !== ':memory:') mkdirSync(dirname(db.path), { recursive: true });
    return { ...common, type: 'better-sqlite3', database: db.path, enableWAL: true, prepareDatabase: (d: { pragma(s: string): unknown }) => void d.pragma('busy_timeout = 5000') };
  }
  return { ...common, type: 'mysql', url: db.url.replace(/^mariadb:/, 'mysql:'), charset: 'utf8mb4', timezone: 'Z', extra: { connectionLimit: 10 } };
}
