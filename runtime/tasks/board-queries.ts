import type { Sql } from '../db.ts';
import { RUN_COLS, type TaskRunRow } from './run-row.ts';

/** The three reads a project's board is derived from; see board.ts for when they run. */
export interface BoardTaskRow {
  id: string;
  parent_id: string | null;
  title: string;
  description: string;
  write_scope: string[];
  cancelled_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface BoardRows {
  tasks: BoardTaskRow[];
  deps: Array<{ task_id: string; depends_on_task_id: string }>;
  latest: Array<TaskRunRow & { fork_sha: string | null }>;
}

export async function loadBoardRows(sql: Sql, projectId: string): Promise<BoardRows> {
  const [tasks, deps, latest] = await Promise.all([
    sql<BoardTaskRow[]>`
      SELECT id, parent_id, title, description, write_scope, cancelled_at, created_at, updated_at
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
