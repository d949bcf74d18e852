import type { Sql, TxSql } from '../../../runtime/db.ts';

/**
 * User settings (spec: /api/me/settings). `setup_completed` is the accounts column of the same name; the others live
 * in `accounts.settings` (jsonb) under these keys, so other families (profiles, follows) read them from there with
 * `readSettings`. Absent keys mean the original's defaults: auto-update on, public account, public activity.
 */
export const ACTIVITY_VISIBILITY = ['public', 'followers', 'private'] as const;
export type ActivityVisibility = (typeof ACTIVITY_VISIBILITY)[number];

export interface UserSettings {
  setup_completed: boolean;
  auto_update_enabled: boolean;
  private_account: boolean;
  activity_visibility: ActivityVisibility;
}

export type SettingsPatch = Partial<UserSettings>;

export function settingsView(setupCompleted: boolean, raw: Record<string, unknown>): UserSettings {
  const vis = raw['activity_visibility'];
  return {
    setup_completed: setupCompleted,
    auto_update_enabled: typeof raw['auto_update_enabled'] === 'boolean' ? raw['auto_update_enabled'] : true,
    private_account: raw['private_account'] === true,
    activity_visibility: ACTIVITY_VISIBILITY.includes(vis as ActivityVisibility) ? (vis as ActivityVisibility) : 'public',
  };
}

export async function readSettings(sql: Sql | TxSql, userId: string): Promise<UserSettings | null> {
  const [row] = await sql<{ setup_completed: boolean; settings: Record<string, unknown> }[]>`
    SELECT setup_completed, settings FROM accounts WHERE id = ${userId}`;
  return row ? settingsView(row.setup_completed, row.settings) : null;
}

/** One statement: `settings || patch` merges in Postgres, so two concurrent PATCHes of different keys both survive. */
export async function updateSettings(sql: Sql | TxSql, userId: string, patch: SettingsPatch): Promise<UserSettings | null> {
  const { setup_completed, ...json } = patch;
  const [row] = await sql<{ setup_completed: boolean; settings: Record<string, unknown> }[]>`
    UPDATE accounts
    SET settings = settings || ${sql.json(json)},
        setup_completed = COALESCE(${setup_completed ?? null}::boolean, setup_completed),
        updated_at = now()
    WHERE id = ${userId}
    RETURNING setup_completed, settings`;
  return row ? settingsView(row.setup_completed, row.settings) : null;
}
