import type { DataSource } from 'typeorm';
import type { SecretBox } from './secret-box';
import { SEALED_COLUMNS, type SealedColumn } from './sealed-columns';

export interface ColumnRotation {
  /** table.column */
  column: string;
  /** Re-sealed under the primary key by this run (or, in a dry run, that would be). */
  resealed: number;
  /** Already under the primary key. */
  current: number;
  /** Sealed under a key that is not configured, or not opening: left as they are. */
  unreadable: number;
  /** Changed by someone else while this run read them: left as they are (run again). */
  changedMeanwhile: number;
}

export interface RotationReport {
  primaryKeyId: string;
  dryRun: boolean;
  columns: ColumnRotation[];
  total: Omit<ColumnRotation, 'column'>;
  /** Key ids of unreadable values (ids only: they are not secret). */
  missingKeyIds: string[];
}

const BATCH = 500;

/**
 * Re-seals every stored secret under the primary key (MAILPAGE_SECRET_KEY), opening each with whichever configured key
 * sealed it (MAILPAGE_OLD_SECRET_KEYS). Idempotent: a value already under the primary key is left alone. Each write
 * is conditional on the value not having changed since it was read, so a concurrent save always wins.
 * Reports counts only; never a value.
 */
export async function rotateSecrets(db: DataSource, box: SecretBox, options: { dryRun?: boolean; columns?: readonly SealedColumn[] } = {}): Promise<RotationReport> {
  const dryRun = options.dryRun ?? false;
  const columns: ColumnRotation[] = [];
  const missing = new Set<string>();
  for (const spec of options.columns ?? SEALED_COLUMNS) {
    const meta = db.getMetadata(spec.entity);
    const column = meta.findColumnWithPropertyName(spec.property);
    if (!column) throw new Error(`${meta.name} has no property ${spec.property}`);
    const pk = meta.primaryColumns.map((c) => c.propertyName);
    const stat: ColumnRotation = { column: `${meta.tableName}.${column.databaseName}`, resealed: 0, current: 0, unreadable: 0, changedMeanwhile: 0 };
    const repo = db.getRepository(spec.entity);
    for (let offset = 0; ; offset += BATCH) {
      const rows: Record<string, unknown>[] = await repo
        .createQueryBuilder('r')
        .select([...new Set([...pk, spec.tenantProperty, spec.property])].map((p) => `r.${p}`))
        .where(`r.${spec.property} IS NOT NULL`)
        .orderBy(Object.fromEntries(pk.map((p) => [`r.${p}`, 'ASC' as const])))
        .skip(offset)
        .take(BATCH)
        .getMany();
      for (const row of rows) {
        const sealed = String(row[spec.property]);
        if (box.keyIdOf(sealed) === box.primaryKeyId) {
          stat.current++;
          continue;
        }
        let resealed: string;
        try {
          const tenantId = String(row[spec.tenantProperty]);
          resealed = box.seal(box.open(sealed, tenantId, spec.field), tenantId, spec.field);
        } catch {
          stat.unreadable++;
          missing.add(box.keyIdOf(sealed));
          continue;
        }
        if (dryRun) {
          stat.resealed++;
          continue;
        }
        const where = Object.fromEntries(pk.map((p) => [p, row[p]]));
        const r = await repo
          .createQueryBuilder()
          .update()
          .set({ [spec.property]: resealed })
          .where(where)
          .andWhere(`${column.databaseName} = :old`, { old: sealed })
          .execute();
        if (r.affected) stat.resealed++;
        else stat.changedMeanwhile++;
      }
      if (rows.length < BATCH) break;
    }
    columns.push(stat);
  }
  const sum = (k: keyof Omit<ColumnRotation, 'column'>) => columns.reduce((n, c) => n + c[k], 0);
  return {
    primaryKeyId: box.primaryKeyId,
    dryRun,
    columns,
    total: { resealed: sum('resealed'), current: sum('current'), unreadable: sum('unreadable'), changedMeanwhile: sum('changedMeanwhile') },
    missingKeyIds: [...missing].sort(),
  };
}

/** The report as lines for a terminal: counts and key ids only. */
export function formatRotationReport(r: RotationReport): string[] {
  const lines = [`${r.dryRun ? 'Dry run: would re-seal' : 'Re-sealed'} stored secrets under key ${r.primaryKeyId}:`];
  for (const c of r.columns) {
    lines.push(`  ${c.column}: ${c.resealed} ${r.dryRun ? 'to re-seal' : 're-sealed'}, ${c.current} already current, ${c.unreadable} unreadable${c.changedMeanwhile ? `, ${c.changedMeanwhile} changed meanwhile` : ''}`);
  }
  const t = r.total;
  lines.push(`Total: ${t.resealed} ${r.dryRun ? 'to re-seal' : 're-sealed'}, ${t.current} already current, ${t.unreadable} unreadable, ${t.changedMeanwhile} changed meanwhile.`);
  if (t.unreadable) {
    lines.push(`${t.unreadable} secret(s) are sealed under key(s) ${r.missingKeyIds.join(', ')}, which are not configured: add them to MAILPAGE_OLD_SECRET_KEYS and run again.`);
  } else if (t.changedMeanwhile) {
    lines.push('Some secrets were changed while this ran: run it again.');
  } else if (!r.dryRun) {
    lines.push(`Every stored secret is sealed under ${r.primaryKeyId}: the old keys can be removed from MAILPAGE_OLD_SECRET_KEYS.`);
  }
  return lines;
}
