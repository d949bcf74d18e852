import type { Sql, TxSql } from '../../../runtime/db.ts';
import { newId } from '../../../runtime/ids.ts';
import { RUN_STALE_MS } from '../../../runtime/tasks/derive.ts';
import { taskBranch } from '../../../runtime/tasks/git.ts';
import { RUN_COLS, type TaskRunRow } from '../../../runtime/tasks/run-row.ts';

/**
 * A queued/running run whose process stopped heartbeating is failed for good here, in the transaction that starts
 * the next run, so the one-live-run-per-task index does not keep the task locked forever.
 */
export async function failLostRuns(tx: TxSql, taskId: string): Promise<void> {
  await tx`
    UPDATE task_runs SET status = 'failed', completed_at = now(), error = 'lost: the process running it stopped reporting'
    WHERE task_id = ${taskId} AND status IN ('queued', 'running') AND heartbeat_at < now() - ${RUN_STALE_MS / 1000} * interval '1 second'`;
}

export async function insertRun(
  tx: TxSql,
  r: { taskId: string; agent: string; createdBy: string; writeScope: string[]; input: Record<string, unknown> },
): Promise<TaskRunRow> {
  const [row] = await tx<TaskRunRow[]>`
    INSERT INTO task_runs AS r (id, task_id, agent, created_by, write_scope, input, branch)
    VALUES (${newId()}, ${r.taskId}, ${r.agent}, ${r.createdBy}, ${r.writeScope}::text[], ${tx.json(r.input as Parameters<typeof tx.json>[0])}, ${taskBranch(r.taskId)})
    RETURNING ${tx.unsafe(RUN_COLS)}`;
  return row!;
}

export async function listRuns(sql: Sql, taskId: string, limit: number, offset: number): Promise<TaskRunRow[]> {
  return sql<TaskRunRow[]>`
    SELECT ${sql.unsafe(RUN_COLS)} FROM task_runs r WHERE r.task_id = ${taskId}
    ORDER BY r.created_at DESC, r.id DESC LIMIT ${limit} OFFSET ${offset}`;
}

export async function getRun(sql: Sql, taskId: string, runId: string): Promise<TaskRunRow | null> {
  const rows = await sql<TaskRunRow[]>`SELECT ${sql.unsafe(RUN_COLS)} FROM task_runs r WHERE r.task_id = ${taskId} AND r.id = ${runId}`;
  return rows[0] ?? null;
}
