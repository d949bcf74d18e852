import type { Sql, TxSql } from '../../../runtime/db.ts';
import { notFound } from '../../../runtime/errors.ts';
import { ALL, atLeast, type Role } from '../spaces/access.ts';
import { THREAD_COLS } from './queries.ts';
import type { ThreadRow } from './views.ts';

export interface ThreadAccess {
  thread: ThreadRow;
  role: Role;
}

/**
 * The caller's role in the thread's space, or 404 "Thread not found" when the thread does not exist, the caller is
 * not an active member of its (active) space, or the role is below `min` (spec 2.5: the original answers 404 rather
 * than 403, so a thread's existence is not revealed).
 *
 * Why not `requireSpace(thread.account_id)`: that helper resolves a *user-supplied* reference, id OR slug, and a
 * slug may spell another space's id (a 12-char id and a 32-hex user id are both valid slugs). Resolving a stored id
 * through it would let the owner of a space whose slug equals the id pass the check. Here the membership is joined
 * on the id only, in the same query that loads the thread.
 */
export async function requireThread(sql: Sql | TxSql, userId: string, threadId: string, min: Role = ALL): Promise<ThreadAccess> {
  const cols = THREAD_COLS.map((c) => `t.${c}`).join(', ');
  const [row] = await sql<(ThreadRow & { role: Role })[]>`
    SELECT ${sql.unsafe(cols)}, m.role
    FROM threads t
    JOIN accounts a ON a.id = t.account_id AND a.status = 'active' AND a.type IN ('user', 'team')
    JOIN account_memberships m ON m.account_id = t.account_id AND m.member_id = ${userId} AND m.status = 'active'
    WHERE t.id = ${threadId}`;
  if (!row || !atLeast(row.role, min)) throw notFound('Thread');
  const { role, ...thread } = row;
  return { thread, role };
}
