import type { Sql } from '../../runtime/db.ts';
import type { Logger } from '../../runtime/log.ts';
import type { WorkingCopyStore } from './store.ts';

/**
 * Removes working copies nobody will use again: those of discarded and failed sessions, and folders without a
 * session row. They are left behind only when a process died between a session's transition and the removal that
 * follows it. A session row is always committed before its folder is created, so a folder without a row is never
 * one being built. Dead sessions keep theirs: the runtime's last uncommitted work is there, for an operator to
 * recover; discarding the session removes it.
 */
export async function reapWorkingCopies(sql: Sql, store: WorkingCopyStore, log: Logger): Promise<number> {
  const ids = await store.list();
  if (ids.length === 0) return 0;
  const keep = await sql<{ id: string }[]>`
    SELECT id FROM runtime_sessions WHERE id = ANY (${ids}::text[]) AND status NOT IN ('discarded', 'failed')`;
  const kept = new Set(keep.map((r) => r.id));
  const gone = ids.filter((id) => !kept.has(id));
  for (const id of gone) await store.drop(id).catch((err: unknown) => log.warn({ err, sessionId: id }, 'removing a leftover working copy failed'));
  if (gone.length > 0) log.info({ count: gone.length }, 'removed leftover session working copies');
  return gone.length;
}
