import type { Sql, TxSql } from '../../../runtime/db.ts';
import { newId } from '../../../runtime/ids.ts';
import { recordTaskChange } from '../../../runtime/tasks/changes.ts';
import type { Role } from '../spaces/access.ts';

export interface ProjectRow {
  id: string;
  space_id: string;
  created_by: string | null;
  name: string;
  repo_path: string;
  base_branch: string;
  version: string;
  created_at: Date;
  updated_at: Date;
}

const COLS = 'p.id, p.space_id, p.created_by, p.name, p.repo_path, p.base_branch, p.version::text AS version, p.created_at, p.updated_at';

/** The project and the caller's role in its space, or null (no such project, deleted, or caller not a member). */
export async function findProjectForUser(sql: Sql | TxSql, userId: string, id: string): Promise<(ProjectRow & { role: Role }) | null> {
  const rows = await sql<(ProjectRow & { role: Role })[]>`
    SELECT ${sql.unsafe(COLS)}, m.role
    FROM projects p
    JOIN accounts a ON a.id = p.space_id AND a.status = 'active'
    JOIN account_memberships m ON m.account_id = p.space_id AND m.member_id = ${userId} AND m.status = 'active'
    WHERE p.id = ${id} AND p.deleted_at IS NULL`;
  return rows[0] ?? null;
}

export async function listProjects(sql: Sql, userId: string, spaceId: string | null): Promise<ProjectRow[]> {
  return sql<ProjectRow[]>`
    SELECT ${sql.unsafe(COLS)}
    FROM projects p
    JOIN accounts a ON a.id = p.space_id AND a.status = 'active'
    JOIN account_memberships m ON m.account_id = p.space_id AND m.member_id = ${userId} AND m.status = 'active'
    WHERE p.deleted_at IS NULL ${spaceId ? sql`AND p.space_id = ${spaceId}` : sql``}
    ORDER BY p.created_at, p.id`;
}

export async function insertProject(sql: Sql, p: { spaceId: string; createdBy: string; name: string; repoPath: string; baseBranch: string }): Promise<ProjectRow> {
  const [row] = await sql<ProjectRow[]>`
    INSERT INTO projects AS p (id, space_id, created_by, name, repo_path, base_branch)
    VALUES (${newId()}, ${p.spaceId}, ${p.createdBy}, ${p.name}, ${p.repoPath}, ${p.baseBranch})
    RETURNING ${sql.unsafe(COLS)}`;
  return row!;
}

export async function updateProject(sql: Sql, id: string, patch: { name?: string; baseBranch?: string }): Promise<ProjectRow | null> {
  const [row] = await sql<ProjectRow[]>`
    UPDATE projects AS p SET
      name = COALESCE(${patch.name ?? null}, p.name),
      base_branch = COALESCE(${patch.baseBranch ?? null}, p.base_branch),
      version = p.version + 1,
      updated_at = now()
    WHERE p.id = ${id} AND p.deleted_at IS NULL
    RETURNING ${sql.unsafe(COLS)}`;
  return row ?? null;
}

export async function softDeleteProject(sql: Sql, id: string): Promise<boolean> {
  const rows = await sql`UPDATE projects SET deleted_at = now(), version = version + 1 WHERE id = ${id} AND deleted_at IS NULL RETURNING id`;
  return rows.length > 0;
}

/**
 * Locks the project row for the rest of the transaction and bumps its version: every change to a project's tasks,
 * dependencies or runs goes through here first, which both serialises cycle checks and invalidates derived-status
 * caches. `changedTasks`: when the change touches only these existing tasks (their rows, dependencies or runs), it is
 * recorded with the version (runtime/tasks/changes.ts) so the board re-reads only them; leave it out otherwise.
 * Returns the new version, or null when the project is gone.
 */
export async function lockProject(tx: TxSql, id: string, changedTasks?: readonly string[]): Promise<string | null> {
  const rows = await tx<{ version: string }[]>`UPDATE projects SET version = version + 1 WHERE id = ${id} AND deleted_at IS NULL RETURNING version::text AS version`;
  const version = rows[0]?.version ?? null;
  if (version !== null && changedTasks !== undefined) await recordTaskChange(tx, id, version, changedTasks);
  return version;
}
