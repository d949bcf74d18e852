import type { Sql } from '../../../runtime/db.ts';
import { notFound } from '../../../runtime/errors.ts';
import { ALL, atLeast, type Role } from '../spaces/access.ts';
import { rowFromDb } from '../../../actors/reminder/kind.ts';
import type { ReminderRow, ReminderStatus } from '../../../actors/reminder/state.ts';

const COLS = `r.id, r.space_id, r.user_id, r.content, r.context, r.trigger_type, r.trigger_value, r.due_at, r.status, r.triggered_at,
  r.priority, r.fire_count, r.delivered_count, r.created_at, r.updated_at`;

type DbRow = Parameters<typeof rowFromDb>[0];

/**
 * The reminder and the caller's role in its space. 404 "Reminder not found" when it does not exist, when the caller
 * is not a member of its space, or is below `min`: the original answered 403 for a foreign space's reminder, which
 * told anyone that the id exists.
 */
export async function requireReminder(sql: Sql, userId: string, id: string, min: Role = ALL): Promise<{ reminder: ReminderRow; role: Role }> {
  const [row] = await sql<(DbRow & { role: Role })[]>`
    SELECT ${sql.unsafe(COLS)}, m.role
    FROM reminders r
    JOIN accounts a ON a.id = r.space_id AND a.status = 'active'
    JOIN account_memberships m ON m.account_id = r.space_id AND m.member_id = ${userId} AND m.status = 'active'
    WHERE r.id = ${id}`;
  if (!row || !atLeast(row.role, min)) throw notFound('Reminder');
  const { role, ...reminder } = row;
  return { reminder: rowFromDb(reminder), role };
}

/** Highest priority first (critical > high > normal > low; the original sorted the words alphabetically), then newest. */
export async function listReminders(sql: Sql, spaceId: string, o: { status?: ReminderStatus | undefined; limit: number }): Promise<ReminderRow[]> {
  const rows = await sql<DbRow[]>`
    SELECT ${sql.unsafe(COLS)} FROM reminders r
    WHERE r.space_id = ${spaceId} ${o.status ? sql`AND r.status = ${o.status}` : sql``}
    ORDER BY array_position(ARRAY['low', 'normal', 'high', 'critical'], r.priority) DESC, r.created_at DESC, r.id
    LIMIT ${o.limit}`;
  return rows.map(rowFromDb);
}
