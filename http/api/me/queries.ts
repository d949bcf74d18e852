import type { Sql, TxSql } from '../../../runtime/db.ts';
import { notFound } from '../../../runtime/errors.ts';
import type { UserRow } from '../../../runtime/identity/users.ts';

/** The caller's own account row: what /api/me, /api/setup/status and /api/auth/me answer from. */
export type AccountRow = Omit<UserRow, 'is_server_admin' | 'updated_at'>;

export async function loadAccount(sql: Sql | TxSql, userId: string): Promise<AccountRow> {
  const [row] = await sql<AccountRow[]>`
    SELECT id, slug, email, name, picture, setup_completed, settings, created_at
    FROM accounts WHERE id = ${userId} AND type = 'user'`;
  // Authentication already checked the account is active; it can only vanish in a race with its deletion.
  if (!row) throw notFound('User');
  return row;
}
