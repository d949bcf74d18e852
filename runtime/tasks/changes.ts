import type { Sql, TxSql } from '../db.ts';

/**
 * The project change log (migrations/0011_project_changes.sql): for a project version, the existing tasks whose row,
 * dependencies or runs that version changed. Written in the transaction that bumps the version; read by the board
 * (board-queries.ts, loadChangedRows) to re-read only those tasks. A version without a record means "anything may
 * have changed", so a writer that does not record is merely slower, never wrong.
 */

/** Versions kept per project; a board further behind than this reads every row. */
export const KEPT_VERSIONS = 256;

export async function recordTaskChange(tx: TxSql | Sql, projectId: string, version: string, taskIds: readonly string[]): Promise<void> {
  await tx`INSERT INTO project_changes (project_id, version, task_ids) VALUES (${projectId}, ${version}, ${[...taskIds]}::text[])`;
  // Pruned every 64 versions rather than on every write: one DELETE on the primary key's range.
  if (BigInt(version) % 64n === 0n) {
    await tx`DELETE FROM project_changes WHERE project_id = ${projectId} AND version <= ${version}::bigint - ${KEPT_VERSIONS}`;
  }
}

/** The tasks changed by versions (from, to], or null when a version in that range left no record. */
export async function changedSince(sql: Sql, projectId: string, from: string, to: string): Promise<Set<string> | null> {
  const span = BigInt(to) - BigInt(from);
  if (span <= 0n || span > BigInt(KEPT_VERSIONS)) return null;
  const rows = await sql<Array<{ task_ids: string[] }>>`
    SELECT task_ids FROM project_changes WHERE project_id = ${projectId} AND version > ${from}::bigint AND version <= ${to}::bigint`;
  if (BigInt(rows.length) !== span) return null;
  const out = new Set<string>();
  for (const r of rows) for (const id of r.task_ids) out.add(id);
  return out;
}
