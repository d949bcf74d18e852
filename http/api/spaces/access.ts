import type { Sql, TxSql } from '../../../runtime/db.ts';
import { AppError, notFound } from '../../../runtime/errors.ts';

/**
 * Space roles and the one query that answers "may this caller do X in this space" (spec 2.5). Every family that
 * works inside a space resolves it here, so the role rules live in one place.
 *
 * - `spaceId` in a path is an id, a slug, or `me` (the caller's personal space).
 * - A caller who is not a member gets 404 "Space not found" (the space's existence is not revealed).
 * - A member without the role gets what the spec says for that operation: 404 on most routes (the original's
 *   behaviour, kept), 403 on member management and the few routes the spec lists (`denyWith: 'forbidden'`).
 */
export const ROLES = ['viewer', 'editor', 'admin', 'owner'] as const;
export type Role = (typeof ROLES)[number];
export const ROLE_RANK: Record<Role, number> = { viewer: 1, editor: 2, admin: 3, owner: 4 };

export const ALL: Role = 'viewer';
export const EDITOR_PLUS: Role = 'editor';
export const ADMIN: Role = 'admin';
export const OWNER: Role = 'owner';

export const atLeast = (role: Role, min: Role) => ROLE_RANK[role] >= ROLE_RANK[min];

export interface SpaceRow {
  id: string;
  type: 'user' | 'team' | 'system';
  name: string;
  slug: string;
  description: string | null;
  picture: string | null;
  owner_account_id: string | null;
  default_repository_id: string | null;
  ai_model: string;
  ai_provider: string;
  security_posture: 'standard' | 'restricted_egress';
  created_at: Date;
  updated_at: Date;
}

export interface SpaceAccess {
  space: SpaceRow;
  role: Role;
}

/** The member's role in the space named by `ref` (id, slug or `me`), or null when not a member / no such space. */
export async function findSpaceForUser(sql: Sql | TxSql, userId: string, ref: string): Promise<SpaceAccess | null> {
  const id = ref === 'me' ? userId : ref;
  // Two primary-key/unique-index probes in a UNION ALL under LIMIT 1: Postgres stops after the id branch when it
  // finds the space, so the common case (a request by id) costs one PK lookup plus one membership lookup. The
  // earlier `id = $1 OR lower(slug) = $2 ... ORDER BY` form made a BitmapOr and a sort on every request, which was
  // the largest Postgres cost of the Foundation benchmark route.
  const rows = await sql<(SpaceRow & { role: Role })[]>`
    (SELECT a.id, a.type, a.name, a.slug, a.description, a.picture, a.owner_account_id, a.default_repository_id,
            a.ai_model, a.ai_provider, a.security_posture, a.created_at, a.updated_at, m.role
     FROM accounts a
     JOIN account_memberships m ON m.account_id = a.id AND m.member_id = ${userId} AND m.status = 'active'
     WHERE a.id = ${id} AND a.type IN ('user', 'team') AND a.status = 'active')
    UNION ALL
    (SELECT a.id, a.type, a.name, a.slug, a.description, a.picture, a.owner_account_id, a.default_repository_id,
            a.ai_model, a.ai_provider, a.security_posture, a.created_at, a.updated_at, m.role
     FROM accounts a
     JOIN account_memberships m ON m.account_id = a.id AND m.member_id = ${userId} AND m.status = 'active'
     WHERE lower(a.slug) = ${ref === 'me' ? '' : ref.toLowerCase()} AND a.id <> ${id} AND a.type IN ('user', 'team') AND a.status = 'active')
    LIMIT 1`;
  const r = rows[0];
  if (!r) return null;
  const { role, ...space } = r;
  return { space, role };
}

/**
 * Resolves the space and checks the caller's role; throws the spec's error otherwise. The default for a member
 * lacking the role is 404, like the original; member management and session control pass `denyWith: 'forbidden'`.
 */
export async function requireSpace(
  sql: Sql | TxSql,
  userId: string,
  ref: string,
  min: Role = ALL,
  opts: { denyWith?: 'not-found' | 'forbidden'; forbiddenMessage?: string } = {},
): Promise<SpaceAccess> {
  const access = await findSpaceForUser(sql, userId, ref);
  if (!access) throw notFound('Space');
  if (!atLeast(access.role, min)) {
    if (opts.denyWith === 'forbidden') throw new AppError('FORBIDDEN', opts.forbiddenMessage ?? 'Access denied');
    throw notFound('Space');
  }
  return access;
}
