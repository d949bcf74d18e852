import type { Sql } from '../../../runtime/db.ts';
import { notFound } from '../../../runtime/errors.ts';
import { checkRole } from '../projects/access.ts';
import type { Role } from '../spaces/access.ts';
import { findTaskForUser } from './queries.ts';

/** The task, its project and the caller's role, or 404 "Task not found" (also for tasks of deleted projects). */
export async function requireTask(sql: Sql, userId: string, id: string, min: Role) {
  const found = await findTaskForUser(sql, userId, id);
  if (!found) throw notFound('Task');
  checkRole(found.role, min);
  return found;
}

