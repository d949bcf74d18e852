import type { Sql, TxSql } from '../../../runtime/db.ts';
import type { Role } from '../spaces/access.ts';

/** The SQL of the `spaces.members` family. A member is an active account_memberships row joined to its user. */

type Db = Sql | TxSql;

export interface MemberRow {
  user_id: string;
  username: string;
  name: string;
  email: string | null;
  picture: string | null;
  role: Role;
  joined_at: Date;
}

/** Owner first, then admins, editors, viewers; within a role, who joined first. */
export function listMembers(sql: Db, spaceId: string, limit: number, offset: number) {
  return sql<MemberRow[]>`
    SELECT u.id AS user_id, u.slug AS username, u.name, u.email, u.picture, m.role, m.created_at AS joined_at
    FROM account_memberships m
    JOIN accounts u ON u.id = m.member_id
    WHERE m.account_id = ${spaceId} AND m.status = 'active'
    ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 WHEN 'editor' THEN 2 ELSE 3 END, m.created_at, u.id
    LIMIT ${limit} OFFSET ${offset}`;
}

export interface UserRef {
  id: string;
  username: string;
  name: string;
  email: string | null;
  picture: string | null;
}

/** An active user by email or username (both case-insensitive), or null. */
export async function findUser(sql: Db, by: { email?: string | undefined; username?: string | undefined }): Promise<UserRef | null> {
  const rows = by.email
    ? await sql<UserRef[]>`
        SELECT id, slug AS username, name, email, picture FROM accounts
        WHERE type = 'user' AND status = 'active' AND lower(email) = lower(${by.email})`
    : await sql<UserRef[]>`
        SELECT id, slug AS username, name, email, picture FROM accounts
        WHERE type = 'user' AND status = 'active' AND lower(slug) = lower(${by.username ?? ''})`;
  return rows[0] ?? null;
}

/**
 * The member named `username` in the space, or null. `lock` takes a row lock so that a role change or removal is
 * decided on the role the row has when it is written (two admins acting on one member at once serialize here).
 */
export async function findMember(sql: Db, spaceId: string, username: string, lock = false): Promise<MemberRow | null> {
  const rows = lock
    ? await sql<MemberRow[]>`
        SELECT u.id AS user_id, u.slug AS username, u.name, u.email, u.picture, m.role, m.created_at AS joined_at
        FROM account_memberships m JOIN accounts u ON u.id = m.member_id
        WHERE m.account_id = ${spaceId} AND m.status = 'active' AND lower(u.slug) = lower(${username}) AND u.type = 'user'
        FOR UPDATE OF m`
    : await sql<MemberRow[]>`
        SELECT u.id AS user_id, u.slug AS username, u.name, u.email, u.picture, m.role, m.created_at AS joined_at
        FROM account_memberships m JOIN accounts u ON u.id = m.member_id
        WHERE m.account_id = ${spaceId} AND m.status = 'active' AND lower(u.slug) = lower(${username}) AND u.type = 'user'`;
  return rows[0] ?? null;
}

/**
 * Adds the user, or reactivates a membership row in another status; returns null when the user is already an active
 * member. The unique (account_id, member_id) key decides, so two concurrent adds give one 201 and one 409.
 */
export async function insertMember(sql: Db, id: string, spaceId: string, userId: string, role: Role): Promise<{ joined_at: Date } | null> {
  const [row] = await sql<{ joined_at: Date }[]>`
    INSERT INTO account_memberships (id, account_id, member_id, role) VALUES (${id}, ${spaceId}, ${userId}, ${role})
    ON CONFLICT (account_id, member_id) DO UPDATE
      SET role = EXCLUDED.role, status = 'active', created_at = now(), updated_at = now()
      WHERE account_memberships.status <> 'active'
    RETURNING created_at AS joined_at`;
  return row ?? null;
}

export async function updateMemberRole(sql: Db, spaceId: string, userId: string, role: Role): Promise<void> {
  await sql`
    UPDATE account_memberships SET role = ${role}, updated_at = now()
    WHERE account_id = ${spaceId} AND member_id = ${userId} AND status = 'active'`;
}

export async function deleteMember(sql: Db, spaceId: string, userId: string): Promise<void> {
  await sql`DELETE FROM account_memberships WHERE account_id = ${spaceId} AND member_id = ${userId}`;
}
