import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { ConfigError, loadConfig } from '../config/app-config';
import { dataSourceOptions } from '../database/data-source-options';
import { SecretBox } from '../secrets/secret-box';
import { formatRotationReport, rotateSecrets } from '../secrets/secret-rotation';

/**
 * `npm run secrets:rotate [-- --dry-run]`: re-seals every stored secret under MAILPAGE_SECRET_KEY, reading older values
 * with the keys in MAILPAGE_OLD_SECRET_KEYS, against the configured database (DATABASE_URL, or local mode's SQLite
 * file). Same environment as the server. Prints counts only. Exit code 0 when every secret is under the new key.
 */
async function main(argv: string[]): Promise<number> {
  const unknown = argv.filter((a) => a !== '--dry-run');
  if (unknown.length) {
    process.stderr.write(`Unknown option ${unknown[0]}. Usage: npm run secrets:rotate [-- --dry-run]\n`);
    return 64;
  }
  let config;
  try {
    config = loadConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 78;
    }
    throw e;
  }
  const db = await new DataSource(dataSourceOptions(config.database)).initialize();
  try {
    const report = await rotateSecrets(db, new SecretBox(config), { dryRun: argv.includes('--dry-run') });
    process.stdout.write(`${formatRotationReport(report).join('\n')}\n`);
    return report.total.unreadable || report.total.changedMeanwhile ? 1 : 0;
  } finally {
    await db.destroy();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    // The type only: a driver's message can quote the connection URL with its password.
    process.stderr.write(`Key rotation failed (${e instanceof Error ? e.name : typeof e}${(e as { code?: unknown })?.code ? ` ${String((e as { code?: unknown }).code)}` : ''}). Nothing after the last counted value was changed; run it again.\n`);
    process.exit(1);
  },
);
