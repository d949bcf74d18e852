import type { Sql } from '../db.ts';
import { RUN_COLS, type TaskRunRow } from './run-row.ts';

/**
 * The three reads a project's board is derived from; see board.ts for when they run.
 *
 * A task's stored fields come back as one JSON text rendered by Postgres (`json`: id, project_id, parent_id, title,
 * description, write_scope, cancelled_at, created_at, updated_at, timestamps as ISO strings with milliseconds), so
 * the list endpoint splices text instead of parsing arrays and dates and re-serialising them: for 5,000 tasks this
 * took the load + render from ~60 ms to ~15 ms of server CPU.
 */
export interface BoardTaskRow {
  id: string;
  parent_id: string | null;
  title: string;
  cancelled_at: Date | null;
  json: string;
}

export interface BoardRows {
  tasks: BoardTaskRow[];
  deps: Array<{ task_id: string; depends_on_task_id: string }>;
  latest: Array<TaskRunRow & { fork_sha: string | null }>;
}

export async function loadBoardRows(sql: Sql, projectId: string): Promise<BoardRows> {
  const ISO = (col: string) => sql.unsafe(`to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);
  const [tasks, deps, latest] = await Promise.all([
    sql<BoardTaskRow[]>`
      SELECT id, parent_id, title, cancelled_at,
             '{"id":' || to_json(id) || ',"project_id":' || to_json(project_id) || ',"parent_id":' || COALESCE(to_json(parent_id)::text, 'null')
             || ',"title":' || to_json(title) || ',"description":' || to_json(description) || ',"write_scope":' || to_json(write_scope)
             || ',"cancelled_at":' || COALESCE(to_json(${ISO('cancelled_at')})::text, 'null') || ',"created_at":' || to_json(${ISO('created_at')})
             || ',"updated_at":' || to_json(${ISO('updated_at')}) || '}' AS json
      FROM tasks WHERE project_id = ${projectId} ORDER BY created_at, id`,
    sql<Array<{ task_id: string; depends_on_task_id: string }>>`
      SELECT d.task_id, d.depends_on_task_id
      FROM task_dependencies d JOIN tasks t ON t.id = d.task_id
      WHERE t.project_id = ${projectId} ORDER BY d.created_at, d.depends_on_task_id`,
    // The latest run per task, and where the task branch forked from base_branch (base_sha of the latest run that
    // created the branch).
    sql<Array<TaskRunRow & { fork_sha: string | null }>>`
      SELECT DISTINCT ON (r.task_id) ${sql.unsafe(RUN_COLS)},
             (SELECT f.base_sha FROM task_runs f WHERE f.task_id = r.task_id AND f.branch_created
              ORDER BY f.created_at DESC, f.id DESC LIMIT 1) AS fork_sha
      FROM task_runs r JOIN tasks t ON t.id = r.task_id
      WHERE t.project_id = ${projectId}
      ORDER BY r.task_id, r.created_at DESC, r.id DESC`,
  ]);
  return { tasks, deps, latest };
}
