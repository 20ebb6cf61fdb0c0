import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createConnection } from 'mysql2/promise';

/** Every row of every table, as text: what someone who reads the database would see. */
export async function dumpDatabase(db: { type: 'sqlite'; path: string } | { type: 'mysql'; url: string }): Promise<string> {
  if (db.type === 'sqlite') {
    const d = new Database(db.path, { readonly: true, fileMustExist: true });
    try {
      const tables = d.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
      return tables.map((t) => `${t.name}: ${JSON.stringify(d.prepare(`SELECT * FROM "${t.name}"`).all())}`).join('\n');
    } finally {
      d.close();
    }
  }
  const c = await createConnection(db.url);
  try {
    const [tables] = (await c.query('SHOW TABLES')) as unknown as [Record<string, string>[]];
    const out: string[] = [];
    for (const row of tables) {
      const name = Object.values(row)[0];
      const [rows] = await c.query(`SELECT * FROM \`${name}\``);
      out.push(`${name}: ${JSON.stringify(rows)}`);
    }
    return out.join('\n');
  } finally {
    await c.end();
  }
}

/** The bytes of every file under a folder, concatenated: to prove content never reaches the disk. */
export function readAllFiles(dir: string): Buffer {
  const parts: Buffer[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else parts.push(readFileSync(p));
    }
  };
  walk(dir);
  return Buffer.concat(parts);
}
