import type { Sql, TxSql } from '../../../runtime/db.ts';
import { conflict } from '../../../runtime/errors.ts';

export const USERNAME_TAKEN = 'This username is already taken';

/**
 * Gives the account `slug` (already validated and lower-cased). Race-safe without a pre-check: the unique index
 * `accounts_slug_key` on lower(slug) decides between concurrent takers, and the loser's unique violation becomes
 * 409 here (a pre-check could only tell the same thing earlier, and would still need this for the race).
 * Usernames share one namespace with team space slugs, so a team's slug is "taken" too.
 *
 * With `completeSetup`, the update only applies while setup is incomplete, so two concurrent completions cannot both
 * succeed; returns false when nothing was updated for that reason.
 */
export async function claimUsername(
  sql: Sql | TxSql,
  userId: string,
  slug: string,
  opts: { completeSetup?: boolean; takenMessage?: string } = {},
): Promise<boolean> {
  const complete = opts.completeSetup ?? false;
  try {
    const rows = await sql`
      UPDATE accounts SET slug = ${slug}, setup_completed = (setup_completed OR ${complete}), updated_at = now()
      WHERE id = ${userId} AND (NOT ${complete} OR NOT setup_completed)
      RETURNING id`;
    return rows.length > 0;
  } catch (err) {
    const e = err as { code?: string; constraint_name?: string };
    if (e.code === '23505' && e.constraint_name === 'accounts_slug_key') throw conflict(opts.takenMessage ?? USERNAME_TAKEN);
    throw err;
  }
}

/** Whether another account (user or team) holds `slug`, compared case-insensitively. */
export async function usernameTakenByOther(sql: Sql | TxSql, userId: string, slug: string): Promise<boolean> {
  const [row] = await sql`SELECT 1 FROM accounts WHERE lower(slug) = ${slug.toLowerCase()} AND id <> ${userId}`;
  return row !== undefined;
}
