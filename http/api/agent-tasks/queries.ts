import type postgres from 'postgres';
import type { Sql, TxSql } from '../../../runtime/db.ts';
import { notFound } from '../../../runtime/errors.ts';
import { newId } from '../../../runtime/ids.ts';
import { atLeast, type Role } from '../spaces/access.ts';
import type { TaskStatus } from './schemas.ts';

/** The SQL of agent tasks, including the read model (thread title, latest run, resume target) of spec 11. */
type Db = Sql | TxSql;
type Fragment = postgres.PendingQuery<postgres.Row[]>;

export interface TaskRow {
  id: string;
  account_id: string;
  created_by_account_id: string | null;
  thread_id: string | null;
  last_run_id: string | null;
  plan_run_id: string | null;
  title: string;
  description: string | null;
  status: TaskStatus;
  priority: 'low' | 'medium' | 'high' | 'urgent';
  agent_type: string;
  model: string | null;
  plan: string | null;
  due_at: Date | null;
  started_at: Date | null;
  completed_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface RunSummary {
  id: string;
  status: string;
  agent_type: string;
  started_at: string | null;
  completed_at: string | null;
  created_at: string;
  error: string | null;
  artifact_count: number;
}

export interface TaskReadRow extends TaskRow {
  thread_title: string | null;
  latest_run: RunSummary | null;
  resume_run: { id: string; reason: 'active' | 'failed' | 'latest' } | null;
}

const runJson = (sql: Db) => sql`
  json_build_object('id', r.id, 'status', r.status, 'agent_type', r.agent_type, 'started_at', r.started_at, 'completed_at', r.completed_at,
                    'created_at', r.created_at, 'error', r.error, 'artifact_count', (SELECT count(*) FROM artifacts x WHERE x.run_id = r.id))`;

/**
 * Tasks with their read model. latest_run: the newest run of the task's thread tree (runs grouped by root thread),
 * or, for a task without a thread, the run `last_run_id` names. resume_target's run: the newest active run, else
 * the newest failed one, else the newest.
 */
function readModel(sql: Db, where: Fragment, order: Fragment) {
  return sql<TaskReadRow[]>`
    SELECT t.*, th.title AS thread_title, lr.run AS latest_run, rr.run AS resume_run
    FROM agent_tasks t
    LEFT JOIN threads th ON th.id = t.thread_id
    LEFT JOIN LATERAL (
      SELECT ${runJson(sql)} AS run FROM runs r
      WHERE (t.thread_id IS NOT NULL AND r.root_thread_id = t.thread_id) OR (t.thread_id IS NULL AND r.id = t.last_run_id)
      ORDER BY r.created_at DESC, r.id DESC LIMIT 1
    ) lr ON true
    LEFT JOIN LATERAL (
      SELECT json_build_object('id', r.id, 'reason', CASE WHEN r.status IN ('pending', 'queued', 'running') THEN 'active'
                                                          WHEN r.status = 'failed' THEN 'failed' ELSE 'latest' END) AS run
      FROM runs r WHERE t.thread_id IS NOT NULL AND r.root_thread_id = t.thread_id
      ORDER BY (r.status IN ('pending', 'queued', 'running')) DESC, (r.status = 'failed') DESC, r.created_at DESC, r.id DESC LIMIT 1
    ) rr ON true
    WHERE ${where}
    ${order}`;
}

export async function listTasks(sql: Sql, spaceId: string, opts: { status: TaskStatus | null; limit: number; offset: number }): Promise<TaskReadRow[]> {
  const where = opts.status ? sql`t.account_id = ${spaceId} AND t.status = ${opts.status}` : sql`t.account_id = ${spaceId}`;
  return readModel(sql, where, sql`ORDER BY t.updated_at DESC, t.id DESC LIMIT ${opts.limit} OFFSET ${opts.offset}`);
}

export async function readTask(sql: Db, id: string): Promise<TaskReadRow> {
  const [row] = await readModel(sql, sql`t.id = ${id}`, sql``);
  if (!row) throw notFound('Task');
  return row;
}

/**
 * The task and the caller's role in its space; 404 "Task not found" when missing, not a member, or below `min`
 * (spec 11: agent tasks never answer 403). Membership is joined on the stored space id.
 */
export async function requireTask(sql: Db, userId: string, id: string, min: Role): Promise<{ task: TaskRow; role: Role }> {
  const [row] = await sql<(TaskRow & { role: Role })[]>`
    SELECT t.*, m.role FROM agent_tasks t
    JOIN accounts a ON a.id = t.account_id AND a.status = 'active' AND a.type IN ('user', 'team')
    JOIN account_memberships m ON m.account_id = t.account_id AND m.member_id = ${userId} AND m.status = 'active'
    WHERE t.id = ${id}`;
  if (!row || !atLeast(row.role, min)) throw notFound('Task');
  const { role, ...task } = row;
  return { task, role };
}

/** Whether `threadId` is a live thread of the space (threads of other spaces are "not found"). */
export async function threadInSpace(sql: Db, spaceId: string, threadId: string): Promise<boolean> {
  const [t] = await sql<{ id: string }[]>`SELECT id FROM threads WHERE id = ${threadId} AND account_id = ${spaceId} AND status <> 'deleted'`;
  return Boolean(t);
}

export async function runInSpace(sql: Db, spaceId: string, runId: string): Promise<boolean> {
  const [r] = await sql<{ id: string }[]>`SELECT id FROM runs WHERE id = ${runId} AND account_id = ${spaceId}`;
  return Boolean(r);
}

export type TaskInsert = Pick<TaskRow, 'account_id' | 'created_by_account_id' | 'thread_id' | 'title' | 'description' | 'status' | 'priority' | 'agent_type' | 'model' | 'plan'> & {
  due_at: string | null;
  started_at: string | null;
  completed_at: string | null;
};

export async function insertTask(sql: Db, t: TaskInsert): Promise<string> {
  const id = newId();
  await sql`INSERT INTO agent_tasks ${sql({ id, ...t })}`;
  return id;
}

/** Applies a patch (column -> value) and bumps updated_at; false when the task is gone. */
export async function updateTask(sql: Db, id: string, patch: Record<string, unknown>): Promise<boolean> {
  const rows = await sql`UPDATE agent_tasks SET ${sql(patch)}, updated_at = clock_timestamp() WHERE id = ${id} RETURNING id`;
  return rows.length > 0;
}

export async function deleteTask(sql: Db, id: string): Promise<void> {
  await sql`DELETE FROM agent_tasks WHERE id = ${id}`;
}
