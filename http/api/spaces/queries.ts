import type { Sql, TxSql } from '../../../runtime/db.ts';
import { conflict, notFound } from '../../../runtime/errors.ts';
import { newId } from '../../../runtime/ids.ts';
import type { Role, SpaceRow } from './access.ts';
import { freeSlug, slugBase } from './slug.ts';

/** The SQL of the `spaces` family. Column lists match `SpaceRow` (access.ts), which `spaceView` turns into JSON. */

type Db = Sql | TxSql;

/** Spaces the user is an active member of: the personal space first, then by name (case-insensitive), then id. */
export function listSpacesForUser(sql: Db, userId: string, limit: number, offset: number) {
  return sql<(SpaceRow & { role: Role })[]>`
    SELECT a.id, a.type, a.name, a.slug, a.description, a.picture, a.owner_account_id, a.default_repository_id,
           a.ai_model, a.ai_provider, a.security_posture, a.created_at, a.updated_at, m.role
    FROM account_memberships m
    JOIN accounts a ON a.id = m.account_id
    WHERE m.member_id = ${userId} AND m.status = 'active' AND a.type IN ('user', 'team') AND a.status = 'active'
    ORDER BY (a.type = 'user' AND a.id = ${userId}) DESC, lower(a.name), a.id
    LIMIT ${limit} OFFSET ${offset}`;
}

export interface NewTeamSpace {
  ownerId: string;
  name: string;
  description: string | null;
  /** Explicit slug: taken -> 409. Absent: derived from the name and made unique. */
  slug?: string | undefined;
}

export interface CreatedSpace {
  space: SpaceRow;
  repository: { id: string; name: string };
}

export const DEFAULT_REPOSITORY_NAME = 'default';
/** Concurrent creates of the same name each lose at most one round per winner; 8 rounds is plenty in practice. */
const SLUG_ATTEMPTS = 8;

/**
 * Creates a team space, its owner membership and its default repository in one transaction. The slug is claimed by
 * the INSERT itself (ON CONFLICT DO NOTHING against accounts_slug_key), so two concurrent creates of "Project" get
 * `project` and `project-2` rather than a unique-violation 500; an explicit slug that is taken answers 409.
 */
export async function createTeamSpace(sql: Sql, input: NewTeamSpace): Promise<CreatedSpace> {
  return sql.begin(async (tx) => {
    const base = input.slug ?? slugBase(input.name);
    for (let attempt = 0; attempt < SLUG_ATTEMPTS; attempt++) {
      const spaceId = newId();
      const repoId = newId();
      const slug = input.slug ?? (await freeSlug(tx, base));
      const [space] = await tx<SpaceRow[]>`
        INSERT INTO accounts (id, type, name, slug, description, owner_account_id, default_repository_id)
        VALUES (${spaceId}, 'team', ${input.name}, ${slug}, ${input.description}, ${input.ownerId}, ${repoId})
        ON CONFLICT DO NOTHING
        RETURNING id, type, name, slug, description, picture, owner_account_id, default_repository_id,
                  ai_model, ai_provider, security_posture, created_at, updated_at`;
      if (!space) {
        if (input.slug) throw conflict('This slug is already taken');
        continue;
      }
      await tx`
        WITH owner AS (
          INSERT INTO account_memberships (id, account_id, member_id, role) VALUES (${newId()}, ${spaceId}, ${input.ownerId}, 'owner')
        )
        INSERT INTO repositories (id, account_id, name) VALUES (${repoId}, ${spaceId}, ${DEFAULT_REPOSITORY_NAME})`;
      return { space, repository: { id: repoId, name: DEFAULT_REPOSITORY_NAME } };
    }
    throw conflict('Could not allocate a unique slug for this name; try again or give a slug');
  });
}

export type SpacePatch = Partial<{
  name: string;
  description: string | null;
  slug: string;
  ai_model: string;
  ai_provider: string;
  security_posture: 'standard' | 'restricted_egress';
}>;

/** Applies the given columns; a slug another account holds answers 409 (the unique index decides, not a pre-check). */
export async function updateSpace(sql: Db, id: string, patch: SpacePatch): Promise<SpaceRow> {
  const cols = (Object.keys(patch) as (keyof SpacePatch)[]).filter((k) => patch[k] !== undefined);
  try {
    const [row] = await sql<SpaceRow[]>`
      UPDATE accounts SET ${sql(patch, cols)}, updated_at = now()
      WHERE id = ${id}
      RETURNING id, type, name, slug, description, picture, owner_account_id, default_repository_id,
                ai_model, ai_provider, security_posture, created_at, updated_at`;
    if (!row) throw notFound('Space');
    return row;
  } catch (err) {
    const e = err as { code?: string; constraint_name?: string };
    if (e.code === '23505' && e.constraint_name === 'accounts_slug_key') throw conflict('This slug is already taken');
    throw err;
  }
}

/**
 * Deletes a team space. Memberships and repositories go with it through ON DELETE CASCADE (as will every later
 * table keyed by account_id); a personal space is never deleted here (it is the user's account row).
 */
export async function deleteTeamSpace(sql: Db, id: string): Promise<boolean> {
  const r = await sql`DELETE FROM accounts WHERE id = ${id} AND type = 'team'`;
  return r.count > 0;
}

export interface RepositoryRow {
  id: string;
  name: string;
  description: string | null;
  visibility: string;
  default_branch: string;
  created_at: Date;
  updated_at: Date;
}

/** The space's repositories, default one first, then by name. */
export function listRepositories(sql: Db, spaceId: string, defaultRepoId: string | null, limit: number) {
  return sql<RepositoryRow[]>`
    SELECT id, name, description, visibility, default_branch, created_at, updated_at
    FROM repositories WHERE account_id = ${spaceId}
    ORDER BY (id = ${defaultRepoId ?? ''}) DESC, lower(name), id
    LIMIT ${limit}`;
}
