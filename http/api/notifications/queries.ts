import type { Sql } from '../../../runtime/db.ts';
import { notFound } from '../../../runtime/errors.ts';
import { inAppHiddenTypes, prefKey, type NotificationType, type PreferenceOverrides } from '../../../actors/inbox/catalog.ts';
import { NOTIFICATION_COLUMNS, type NotificationDbRow } from '../../../actors/inbox/stream.ts';

/**
 * Reads of a user's notifications. Writes go through the inbox actor, except marking one read: read_at is no part
 * of the actor's state (it assigns ids and applies delivery rules), so a direct, idempotent UPDATE cannot race it.
 */
export async function readOverrides(sql: Sql, userId: string): Promise<PreferenceOverrides> {
  const rows = await sql<{ type: string; channel: string; enabled: boolean }[]>`
    SELECT type, channel, enabled FROM notification_preferences WHERE user_id = ${userId}`;
  const out: PreferenceOverrides = {};
  for (const r of rows) out[prefKey(r.type, r.channel)] = r.enabled;
  return out;
}

export interface ListOptions {
  limit: number;
  before?: string | undefined;
  type?: NotificationType | undefined;
  unreadOnly: boolean;
}

/** Newest first; types whose in_app preference is off are left out (spec 4.2). created_at is unique per user. */
export async function listNotifications(sql: Sql, userId: string, o: ListOptions): Promise<NotificationDbRow[]> {
  const hidden = inAppHiddenTypes(await readOverrides(sql, userId));
  return sql<NotificationDbRow[]>`
    SELECT ${sql(NOTIFICATION_COLUMNS)} FROM notifications
    WHERE user_id = ${userId} AND type <> ALL(${hidden}::text[])
      ${o.before ? sql`AND created_at < ${o.before}` : sql``}
      ${o.type ? sql`AND type = ${o.type}` : sql``}
      ${o.unreadOnly ? sql`AND read_at IS NULL` : sql``}
    ORDER BY created_at DESC
    LIMIT ${o.limit}`;
}

export async function unreadCount(sql: Sql, userId: string): Promise<number> {
  const hidden = inAppHiddenTypes(await readOverrides(sql, userId));
  const [r] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM notifications WHERE user_id = ${userId} AND read_at IS NULL AND type <> ALL(${hidden}::text[])`;
  return r!.n;
}

/** Idempotent: an already read notification keeps its read_at. 404 when it is not the caller's (or does not exist). */
export async function markRead(sql: Sql, userId: string, id: string): Promise<void> {
  const rows = await sql`UPDATE notifications SET read_at = COALESCE(read_at, now()) WHERE id = ${id} AND user_id = ${userId} RETURNING id`;
  if (rows.length === 0) throw notFound('Notification');
}

export async function inboxCounters(sql: Sql, userId: string): Promise<{ lastStreamId: number; mutedUntil: string | null }> {
  const [r] = await sql<{ last_stream_id: number; muted_until: Date | null }[]>`
    SELECT last_stream_id, muted_until FROM notification_inboxes WHERE user_id = ${userId}`;
  return { lastStreamId: r?.last_stream_id ?? 0, mutedUntil: r?.muted_until?.toISOString() ?? null };
}
