import type { Sql } from '../../runtime/db.ts';
import { recordTaskChange } from '../../runtime/tasks/changes.ts';
import { RUN_COLS, type TaskRunRow } from '../../runtime/tasks/run-row.ts';
import type { RejectedFile } from './types.ts';

/**
 * task_runs writes of the executor. Every status change bumps the project's version in the same transaction (the
 * board's cache key), and only moves a run that is still where the executor left it: a run cancelled meanwhile
 * (by POST /api/tasks/:id/cancel, on any process) stays cancelled.
 */
export interface RunContext {
  run: TaskRunRow;
  input: { edits?: Array<{ path: string; content: string | null }>; instructions?: string; model?: string };
  task: { id: string; title: string; description: string };
  project: { id: string; space_id: string; repo_path: string; base_branch: string };
  author: { name: string; email: string | null; username: string };
}

export async function loadRunContext(sql: Sql, runId: string): Promise<RunContext | null> {
  const rows = await sql<(TaskRunRow & { input: RunContext['input']; t_title: string; t_description: string; project_id: string; space_id: string; repo_path: string; base_branch: string; a_name: string | null; a_email: string | null; a_slug: string | null })[]>`
    SELECT ${sql.unsafe(RUN_COLS)}, r.input, t.title AS t_title, t.description AS t_description, p.id AS project_id, p.space_id, p.repo_path, p.base_branch,
           a.name AS a_name, a.email AS a_email, a.slug AS a_slug
    FROM task_runs r JOIN tasks t ON t.id = r.task_id JOIN projects p ON p.id = t.project_id
    LEFT JOIN accounts a ON a.id = r.created_by
    WHERE r.id = ${runId}`;
  const r = rows[0];
  if (!r) return null;
  return {
    run: r,
    input: r.input,
    task: { id: r.task_id, title: r.t_title, description: r.t_description },
    project: { id: r.project_id, space_id: r.space_id, repo_path: r.repo_path, base_branch: r.base_branch },
    author: { name: r.a_name ?? r.a_slug ?? 'takos', email: r.a_email, username: r.a_slug ?? 'takos' },
  };
}

/** Bumps the run's project version, recording the run's task as the one it changed (runtime/tasks/changes.ts). */
async function bump(sql: Sql, runId: string): Promise<void> {
  const [p] = await sql<Array<{ id: string; version: string; task_id: string }>>`
    UPDATE projects p SET version = p.version + 1 FROM task_runs r JOIN tasks t ON t.id = r.task_id
    WHERE r.id = ${runId} AND p.id = t.project_id
    RETURNING p.id, p.version::text AS version, r.task_id`;
  if (p) await recordTaskChange(sql, p.id, p.version, [p.task_id]);
}

export async function markRunning(sql: Sql, runId: string): Promise<boolean> {
  return sql.begin(async (tx) => {
    const rows = await tx`UPDATE task_runs SET status = 'running', started_at = now(), heartbeat_at = now() WHERE id = ${runId} AND status = 'queued' RETURNING id`;
    if (rows.length) await bump(tx as unknown as Sql, runId);
    return rows.length > 0;
  });
}

/** Recorded as soon as the worktree exists, so a process lost later still leaves the fork point behind. */
export async function recordBranch(sql: Sql, runId: string, baseSha: string, created: boolean): Promise<void> {
  await sql`UPDATE task_runs SET base_sha = ${baseSha}, branch_created = ${created} WHERE id = ${runId}`;
}

export async function finishRun(
  sql: Sql,
  runId: string,
  out: { status: 'completed' | 'failed'; headSha: string | null; committed: string[]; rejected: RejectedFile[]; error: string | null },
): Promise<boolean> {
  return sql.begin(async (tx) => {
    const rows = await tx`
      UPDATE task_runs SET status = ${out.status}, head_sha = ${out.headSha}, committed_files = ${tx.json(out.committed)},
        rejected_files = ${tx.json(out.rejected as unknown as Parameters<typeof tx.json>[0])}, error = ${out.error}, completed_at = now()
      WHERE id = ${runId} AND status = 'running' RETURNING id`;
    if (rows.length) await bump(tx as unknown as Sql, runId);
    return rows.length > 0;
  });
}

/** Fails runs that have not finished (queued or running) with `error`: a stopping server's runs, which would otherwise only go stale. */
export async function failUnfinished(sql: Sql, runIds: string[], error: string): Promise<void> {
  for (const runId of runIds) {
    await sql.begin(async (tx) => {
      const rows = await tx`
        UPDATE task_runs SET status = 'failed', error = ${error}, completed_at = now()
        WHERE id = ${runId} AND status IN ('queued', 'running') RETURNING id`;
      if (rows.length) await bump(tx as unknown as Sql, runId);
    });
  }
}

/** Refreshes the heartbeat of the given runs; returns those no longer live (cancelled elsewhere). */
export async function heartbeat(sql: Sql, runIds: string[]): Promise<string[]> {
  if (runIds.length === 0) return [];
  const live = await sql<{ id: string }[]>`
    UPDATE task_runs SET heartbeat_at = now() WHERE id = ANY(${runIds}::text[]) AND status IN ('queued', 'running') RETURNING id`;
  const alive = new Set(live.map((r) => r.id));
  return runIds.filter((id) => !alive.has(id));
}
