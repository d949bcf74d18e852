import type { Sql, TxSql } from '../../../runtime/db.ts';
import { AppError, notFound } from '../../../runtime/errors.ts';
import { newId } from '../../../runtime/ids.ts';
import type { MessageRole, ThreadStatus } from './schemas.ts';
import type { MessageRow, ThreadRow } from './views.ts';

/** The SQL of threads and messages. Every function takes the connection (pool or transaction) it runs on. */

type Db = Sql | TxSql;

export const THREAD_COLS = ['id', 'account_id', 'title', 'locale', 'status', 'summary', 'key_points', 'retrieval_index', 'context_window', 'created_at', 'updated_at'];
export const MESSAGE_COLS = ['id', 'thread_id', 'role', 'content', 'tool_calls', 'tool_call_id', 'metadata', 'sequence', 'created_at'];

export async function insertThread(db: Db, spaceId: string, input: { title: string | null; locale: 'ja' | 'en' | null }): Promise<ThreadRow> {
  const [row] = await db<ThreadRow[]>`
    INSERT INTO threads (id, account_id, title, locale)
    VALUES (${newId()}, ${spaceId}, ${input.title}, ${input.locale})
    RETURNING ${db(THREAD_COLS)}`;
  return row!;
}

export async function listThreads(
  db: Db,
  spaceId: string,
  opts: { status?: ThreadStatus | undefined; limit: number; offset: number },
): Promise<{ rows: ThreadRow[]; total: number }> {
  // Without a status filter, deleted threads are left out (spec 8.1).
  const filter = opts.status ? db`status = ${opts.status}` : db`status <> 'deleted'`;
  const [rows, count] = await Promise.all([
    db<ThreadRow[]>`
      SELECT ${db(THREAD_COLS)} FROM threads
      WHERE account_id = ${spaceId} AND ${filter}
      ORDER BY updated_at DESC, id DESC
      LIMIT ${opts.limit} OFFSET ${opts.offset}`,
    db<{ n: number }[]>`SELECT count(*)::int AS n FROM threads WHERE account_id = ${spaceId} AND ${filter}`,
  ]);
  return { rows, total: count[0]!.n };
}

export interface ThreadPatch {
  title?: string | null;
  locale?: 'ja' | 'en' | null;
  status?: ThreadStatus;
  context_window?: number;
}

export async function updateThread(db: Db, threadId: string, patch: ThreadPatch): Promise<ThreadRow | null> {
  const set: Record<string, unknown> = {};
  for (const k of ['title', 'locale', 'status', 'context_window'] as const) if (patch[k] !== undefined) set[k] = patch[k];
  if (Object.keys(set).length === 0) throw new Error('updateThread: empty patch');
  const [row] = await db<ThreadRow[]>`
    UPDATE threads SET ${db(set)}, updated_at = clock_timestamp() WHERE id = ${threadId}
    RETURNING ${db(THREAD_COLS)}`;
  return row ?? null;
}

export async function listMessages(db: Db, threadId: string, limit: number, offset: number): Promise<{ rows: MessageRow[]; total: number }> {
  const [rows, count] = await Promise.all([
    db<MessageRow[]>`
      SELECT ${db(MESSAGE_COLS)} FROM messages WHERE thread_id = ${threadId}
      ORDER BY sequence LIMIT ${limit} OFFSET ${offset}`,
    db<{ n: number }[]>`SELECT count(*)::int AS n FROM messages WHERE thread_id = ${threadId}`,
  ]);
  return { rows, total: count[0]!.n };
}

/** Every message of a thread with one of `roles`, in order (export). */
export async function messagesWithRoles(db: Db, threadId: string, roles: readonly MessageRole[]): Promise<MessageRow[]> {
  return db<MessageRow[]>`
    SELECT ${db(MESSAGE_COLS)} FROM messages
    WHERE thread_id = ${threadId} AND role = ANY(${roles as string[]})
    ORDER BY sequence`;
}

export interface AppendMessageInput {
  role: MessageRole;
  content: string;
  /** Stored as JSON text (the original's shape); null when absent. */
  tool_calls?: unknown[] | null;
  tool_call_id?: string | null;
  metadata?: Record<string, unknown> | null;
}

/** First 50 characters (code points, so a surrogate pair is never split) plus "..." when longer. */
export function autoTitle(content: string): string | null {
  const chars = Array.from(content.trim());
  if (chars.length === 0) return null;
  return chars.slice(0, 50).join('') + (chars.length > 50 ? '...' : '');
}

/**
 * Appends a message to a thread and returns the stored row. THE way to add a message to a thread: the
 * `POST /api/threads/:id/messages` route and the agent that answers in a thread (runs) both call it, inside the
 * caller's transaction (`sql.begin(tx => appendMessage(tx, threadId, {role: 'assistant', content}))`), so the
 * message commits or rolls back with whatever else the caller writes.
 *
 * Sequence: the thread row's `next_sequence` is incremented by an UPDATE in this transaction; the row lock makes
 * concurrent appends to one thread take turns, so sequences are 0, 1, 2, ... with no duplicate and no gap (a
 * rolled-back append gives its number back). The lock is held until the caller commits: keep the transaction short.
 * Also bumps the thread's `updated_at` and, for the first user message of an untitled thread, sets its title.
 *
 * Throws 404 "Thread not found" for an unknown thread and 409 for a deleted one; access checks are the caller's.
 */
/**
 * appendMessage for a run's final assistant message, as one statement that cannot fail on a thread deleted
 * meanwhile (it then inserts nothing): the run actor issues it inside its batch's transaction without a savepoint,
 * so that the transaction can go in one flight (runtime/actors/commit.ts). The UPDATE locks the thread row, so the
 * sequence it hands out is unique as in appendMessage.
 */
export function appendRunMessage(tx: TxSql, threadId: string, runId: string, content: string) {
  return tx`
    WITH bumped AS (
      UPDATE threads SET next_sequence = next_sequence + 1, updated_at = clock_timestamp()
      WHERE id = ${threadId} AND status <> 'deleted'
      RETURNING id, next_sequence - 1 AS sequence)
    INSERT INTO messages (id, thread_id, role, content, tool_calls, tool_call_id, metadata, sequence, created_at)
    SELECT ${newId()}, bumped.id, 'assistant', ${content}, NULL, NULL, ${JSON.stringify({ run_id: runId })}, bumped.sequence, clock_timestamp()
    FROM bumped`;
}

export async function appendMessage(tx: TxSql, threadId: string, input: AppendMessageInput): Promise<MessageRow> {
  const title = input.role === 'user' ? autoTitle(input.content) : null;
  const [bumped] = await tx<{ sequence: number }[]>`
    UPDATE threads SET
      next_sequence = next_sequence + 1,
      updated_at = clock_timestamp(),
      title = CASE WHEN next_sequence = 0 AND title IS NULL THEN ${title}::text ELSE title END
    WHERE id = ${threadId} AND status <> 'deleted'
    RETURNING next_sequence - 1 AS sequence`;
  if (!bumped) {
    const [t] = await tx<{ status: string }[]>`SELECT status FROM threads WHERE id = ${threadId}`;
    if (!t) throw notFound('Thread');
    throw new AppError('CONFLICT', 'Thread is deleted');
  }
  const [row] = await tx<MessageRow[]>`
    INSERT INTO messages (id, thread_id, role, content, tool_calls, tool_call_id, metadata, sequence, created_at)
    VALUES (
      ${newId()}, ${threadId}, ${input.role}, ${input.content},
      ${input.tool_calls ? JSON.stringify(input.tool_calls) : null},
      ${input.tool_call_id || null},
      ${JSON.stringify(input.metadata ?? {})},
      ${bumped.sequence}, clock_timestamp())
    RETURNING ${tx(MESSAGE_COLS)}`;
  return row!;
}
