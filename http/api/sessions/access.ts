import type { Sql } from '../../../runtime/db.ts';
import { AppError, notFound } from '../../../runtime/errors.ts';
import { atLeast, type Role } from '../spaces/access.ts';
import type { SessionStatus } from '../../../actors/session/state.ts';

/** A session row as the routes read it (the actor writes it), with the repository it works on. */
export interface SessionRow {
  id: string;
  account_id: string;
  user_account_id: string | null;
  repo_id: string;
  repo_name: string;
  default_branch: string;
  branch: string;
  status: SessionStatus;
  ended_reason: string | null;
  base_commit: string | null;
  head_commit: string | null;
  last_heartbeat: Date | null;
  running_since: Date | null;
  created_at: Date;
  heartbeat_timeout_ms: number;
  start_grace_ms: number;
  max_age_ms: string;
}

/**
 * The session and the caller's role in its space. Missing, or the caller not an active member: 404 "Session not
 * found". A member below `min`: 403 with `forbiddenMessage` (spec 2.5 lists session stop/resume/discard among the
 * few 403 routes). Membership is joined on the stored space id, never resolved as a slug (see threads/access.ts).
 */
export async function requireSession(sql: Sql, userId: string, sessionId: string, min: Role, forbiddenMessage = 'Permission denied'): Promise<{ session: SessionRow; role: Role }> {
  const [row] = await sql<(SessionRow & { role: Role })[]>`
    SELECT s.id, s.account_id, s.user_account_id, s.repo_id, r.name AS repo_name, r.default_branch, s.branch, s.status, s.ended_reason,
           s.base_commit, s.head_commit, s.last_heartbeat, s.running_since, s.created_at, s.heartbeat_timeout_ms, s.start_grace_ms,
           s.max_age_ms, m.role
    FROM runtime_sessions s
    JOIN repositories r ON r.id = s.repo_id
    JOIN accounts a ON a.id = s.account_id AND a.status = 'active' AND a.type IN ('user', 'team')
    JOIN account_memberships m ON m.account_id = s.account_id AND m.member_id = ${userId} AND m.status = 'active'
    WHERE s.id = ${sessionId}`;
  if (!row) throw notFound('Session');
  if (!atLeast(row.role, min)) throw new AppError('FORBIDDEN', forbiddenMessage);
  const { role, ...session } = row;
  return { session, role };
}

/** Name and e-mail for commits a user makes through a session. */
export async function commitAuthor(sql: Sql, userId: string | null): Promise<{ name: string; email: string }> {
  if (userId) {
    const [u] = await sql<{ name: string; slug: string; email: string | null }[]>`SELECT name, slug, email FROM accounts WHERE id = ${userId}`;
    if (u) return { name: u.name || u.slug, email: u.email ?? `${u.slug}@users.noreply.takos` };
  }
  // The original's fallback for a session whose user is gone.
  return { name: 'Takos Agent', email: 'agent@takos.io' };
}
