import type { Sql, TxSql } from '../../../runtime/db.ts';
import { newId } from '../../../runtime/ids.ts';
import type { Role } from '../spaces/access.ts';
import type { ProjectRow } from '../projects/queries.ts';

export interface TaskRow {
  id: string;
  project_id: string;
  parent_id: string | null;
  title: string;
  description: string;
  write_scope: string[];
  cancelled_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const TASK_COLS = 't.id, t.project_id, t.parent_id, t.title, t.description, t.write_scope, t.cancelled_at, t.created_at, t.updated_at';

/** A task with its (live) project and the caller's role in the project's space; null when any of them is missing. */
export async function findTaskForUser(sql: Sql | TxSql, userId: string, taskId: string): Promise<{ task: TaskRow; project: ProjectRow; role: Role } | null> {
  const rows = await sql<(TaskRow & { p_space_id: string; p_created_by: string | null; p_name: string; p_repo_path: string; p_base_branch: string; p_version: string; p_created_at: Date; p_updated_at: Date; role: Role })[]>`
    SELECT ${sql.unsafe(TASK_COLS)}, p.space_id AS p_space_id, p.created_by AS p_created_by, p.name AS p_name, p.repo_path AS p_repo_path,
           p.base_branch AS p_base_branch, p.version::text AS p_version, p.created_at AS p_created_at, p.updated_at AS p_updated_at, m.role
    FROM tasks t
    JOIN projects p ON p.id = t.project_id AND p.deleted_at IS NULL
    JOIN accounts a ON a.id = p.space_id AND a.status = 'active'
    JOIN account_memberships m ON m.account_id = p.space_id AND m.member_id = ${userId} AND m.status = 'active'
    WHERE t.id = ${taskId}`;
  const r = rows[0];
  if (!r) return null;
  const task: TaskRow = {
    id: r.id, project_id: r.project_id, parent_id: r.parent_id, title: r.title, description: r.description, write_scope: r.write_scope,
    cancelled_at: r.cancelled_at, created_at: r.created_at, updated_at: r.updated_at,
  };
  const project: ProjectRow = {
    id: r.project_id, space_id: r.p_space_id, created_by: r.p_created_by, name: r.p_name, repo_path: r.p_repo_path, base_branch: r.p_base_branch,
    version: r.p_version, created_at: r.p_created_at, updated_at: r.p_updated_at,
  };
  return { task, project, role: r.role };
}

/** id -> project_id (and cancelled_at) of the given tasks, for same-project checks. */
export async function taskProjects(tx: TxSql, ids: string[]): Promise<Map<string, { projectId: string; cancelled: boolean }>> {
  if (ids.length === 0) return new Map();
  const rows = await tx<{ id: string; project_id: string; cancelled: boolean }[]>`
    SELECT id, project_id, cancelled_at IS NOT NULL AS cancelled FROM tasks WHERE id = ANY(${ids}::text[])`;
  return new Map(rows.map((r) => [r.id, { projectId: r.project_id, cancelled: r.cancelled }]));
}

export async function insertTask(
  tx: TxSql,
  t: { projectId: string; parentId: string | null; title: string; description: string; writeScope: string[]; createdBy: string; dependsOn: string[] },
): Promise<TaskRow> {
  const id = newId();
  const [row] = await tx<TaskRow[]>`
    INSERT INTO tasks AS t (id, project_id, parent_id, title, description, write_scope, created_by)
    VALUES (${id}, ${t.projectId}, ${t.parentId}, ${t.title}, ${t.description}, ${t.writeScope}::text[], ${t.createdBy})
    RETURNING ${tx.unsafe(TASK_COLS)}`;
  if (t.dependsOn.length > 0) {
    await tx`
      INSERT INTO task_dependencies (task_id, depends_on_task_id)
      SELECT ${id}, d FROM unnest(${t.dependsOn}::text[]) AS d`;
  }
  return row!;
}

export async function updateTask(tx: TxSql, id: string, patch: { title?: string; description?: string; writeScope?: string[] }): Promise<TaskRow | null> {
  const [row] = await tx<TaskRow[]>`
    UPDATE tasks AS t SET
      title = COALESCE(${patch.title ?? null}, t.title),
      description = COALESCE(${patch.description ?? null}, t.description),
      write_scope = COALESCE(${patch.writeScope ?? null}::text[], t.write_scope),
      updated_at = now()
    WHERE t.id = ${id}
    RETURNING ${tx.unsafe(TASK_COLS)}`;
  return row ?? null;
}

/**
 * Sets cancelled_at on the given tasks and cancels their live runs, in the caller's transaction. Returns the ids of
 * the runs that were stopped, so their executors can be told.
 */
export async function cancelTasks(tx: TxSql, ids: string[]): Promise<string[]> {
  await tx`UPDATE tasks SET cancelled_at = now(), updated_at = now() WHERE id = ANY(${ids}::text[]) AND cancelled_at IS NULL`;
  const runs = await tx<{ id: string }[]>`
    UPDATE task_runs SET status = 'cancelled', completed_at = now(), error = 'cancelled together with its task'
    WHERE task_id = ANY(${ids}::text[]) AND status IN ('queued', 'running')
    RETURNING id`;
  return runs.map((r) => r.id);
}
