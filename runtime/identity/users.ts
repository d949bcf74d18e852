import type { Sql, TxSql } from '../db.ts';
import { conflict } from '../errors.ts';
import { newId, newUserId } from '../ids.ts';
import { generatePat } from '../auth/pat.ts';

export interface NewUser {
  username: string;
  email?: string | null;
  name?: string;
  isServerAdmin?: boolean;
  setupCompleted?: boolean;
}

export interface UserRow {
  id: string;
  slug: string;
  email: string | null;
  name: string;
  picture: string | null;
  setup_completed: boolean;
  is_server_admin: boolean;
  settings: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

/**
 * Creates a user account. The account row is also the user's personal space (id = user id, spec 1.4), and the user
 * is recorded as its owner in account_memberships so that one membership query answers "what may this user do
 * here" for personal and team spaces alike.
 */
export async function createUser(sql: Sql | TxSql, u: NewUser): Promise<UserRow> {
  const id = newUserId();
  const slug = u.username.toLowerCase();
  const [clash] = await sql<{ id: string }[]>`SELECT id FROM accounts WHERE lower(slug) = ${slug}`;
  if (clash) throw conflict('This username is already taken');
  if (u.email) {
    const [e] = await sql<{ id: string }[]>`SELECT id FROM accounts WHERE type = 'user' AND lower(email) = lower(${u.email})`;
    if (e) throw conflict('This email is already registered');
  }
  const [row] = await sql<UserRow[]>`
    INSERT INTO accounts (id, type, name, slug, email, is_server_admin, setup_completed)
    VALUES (${id}, 'user', ${u.name ?? u.username}, ${slug}, ${u.email ?? null}, ${u.isServerAdmin ?? false}, ${u.setupCompleted ?? true})
    RETURNING id, slug, email, name, picture, setup_completed, is_server_admin, settings, created_at, updated_at`;
  await sql`INSERT INTO account_memberships (id, account_id, member_id, role) VALUES (${newId()}, ${id}, ${id}, 'owner')`;
  return row!;
}

export interface CreatedPat {
  id: string;
  name: string;
  token: string;
  token_prefix: string;
  scopes: string;
  expires_at: Date | null;
  created_at: Date;
}

/** Mints a PAT; the plaintext exists only in the return value (it is stored as its SHA-256). */
export async function createPat(sql: Sql | TxSql, userId: string, name: string, scopes = '*', expiresAt: Date | null = null): Promise<CreatedPat> {
  const { token, hash, prefix } = generatePat();
  const [row] = await sql<Omit<CreatedPat, 'token'>[]>`
    INSERT INTO personal_access_tokens (id, account_id, name, token_hash, token_prefix, scopes, expires_at)
    VALUES (${newId()}, ${userId}, ${name}, ${hash}, ${prefix}, ${scopes}, ${expiresAt})
    RETURNING id, name, token_prefix, scopes, expires_at, created_at`;
  return { ...row!, token };
}
