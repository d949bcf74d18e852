import { readdir, readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Sql } from './db.ts';

/**
 * Numbered SQL migrations (`migrations/0001_name.sql`), applied in order, each in its own transaction, recorded in
 * `takos_migrations` with a checksum. A session-level advisory lock makes a second process wait rather than apply the
 * same file twice. A migration that has landed is never edited: the checksum check refuses to start if one was.
 */
export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'migrations');
const LOCK_KEY = 727_001; // arbitrary, constant: the advisory lock id of the migration runner

export interface MigrationFile {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export async function listMigrations(dir = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  const out: MigrationFile[] = [];
  for (const f of files) {
    const sql = await readFile(path.join(dir, f), 'utf8');
    out.push({ version: Number(f.slice(0, 4)), name: f.replace(/\.sql$/, ''), sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  return out;
}

export async function migrate(sql: Sql, opts: { dir?: string; log?: (msg: string) => void } = {}): Promise<number[]> {
  const log = opts.log ?? (() => {});
  const files = await listMigrations(opts.dir);
  const applied: number[] = [];
  await sql.begin(async (tx) => {
    // Transaction-level lock: released on commit, so a crash never leaves it held.
    await tx`SELECT pg_advisory_xact_lock(${LOCK_KEY})`;
    await tx`CREATE TABLE IF NOT EXISTS takos_migrations (
      version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`;
    const done = new Map((await tx<{ version: number; checksum: string; name: string }[]>`SELECT version, checksum, name FROM takos_migrations`).map((r) => [r.version, r]));
    for (const m of files) {
      const prev = done.get(m.version);
      if (prev) {
        if (prev.checksum !== m.checksum) throw new Error(`Migration ${m.name} was edited after it was applied (checksum mismatch); add a new migration instead`);
        continue;
      }
      log(`applying migration ${m.name}`);
      await tx.unsafe(m.sql);
      await tx`INSERT INTO takos_migrations (version, name, checksum) VALUES (${m.version}, ${m.name}, ${m.checksum})`;
      applied.push(m.version);
    }
  });
  return applied;
}
