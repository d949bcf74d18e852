import type { Sql, TxSql } from '../../../runtime/db.ts';
import { AppError, notFound } from '../../../runtime/errors.ts';
import { atLeast, type Role } from '../spaces/access.ts';
import { findProjectForUser, type ProjectRow } from './queries.ts';

/**
 * Who may do what with a project. A project belongs to a space (the registering user's personal space unless
 * another is named); every member of that space sees it (viewer+), editors and above change it and its tasks, and
 * only space admins/owners delete it. Anyone else gets 404 "Project not found", so a project's existence is not
 * revealed outside its space. A member lacking the role gets 403: they can already see the project.
 */
export const PROJECT_READ: Role = 'viewer';
export const PROJECT_WRITE: Role = 'editor';
export const PROJECT_DELETE: Role = 'admin';

export interface ProjectAccess {
  project: ProjectRow;
  role: Role;
}

export async function requireProject(sql: Sql | TxSql, userId: string, id: string, min: Role = PROJECT_READ): Promise<ProjectAccess> {
  const row = await findProjectForUser(sql, userId, id);
  if (!row) throw notFound('Project');
  const { role, ...project } = row;
  checkRole(role, min);
  return { project, role };
}

export function checkRole(role: Role, min: Role): void {
  if (!atLeast(role, min)) throw new AppError('FORBIDDEN', `Your role in this project's space (${role}) does not allow this; ${min} or above is needed`);
}
