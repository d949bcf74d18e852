import type { Sql } from '../../runtime/db.ts';
import type { EventHistory, StreamEvent } from '../../runtime/streams/types.ts';
import type { CommittedBatch } from '../../runtime/actors/types.ts';
import type { InboxEvent, NotificationRow } from './state.ts';

/**
 * The inbox's realtime stream (stream kind `inbox`, entity = user id): one `notification.new` event per pushed
 * notification, event id = the notification's stream id. Live events come from the inbox actor's commits, history
 * from the notifications table, and both render the same frame.
 *
 * The event's data carries `notification_id` (all the original sent: clients fetched the row) and, in addition,
 * the notification itself, so a client need not make a request per event.
 */
export const INBOX_STREAM = 'inbox';
export const NOTIFICATION_EVENT = 'notification.new';

/** A notification as the API shows it: `NotificationRow` with a plain string type. */
export type NotificationView = Omit<NotificationRow, 'type'> & { type: string };

/** The same as read from the notifications table, where timestamps arrive as dates. */
export type NotificationDbRow = Omit<NotificationView, 'read_at' | 'created_at'> & { read_at: Date | null; created_at: Date };

export const notificationView = (r: NotificationDbRow | NotificationRow): NotificationView => ({
  id: r.id,
  user_id: r.user_id,
  space_id: r.space_id,
  type: r.type,
  title: r.title,
  body: r.body,
  data: r.data,
  stream_id: r.stream_id,
  read_at: r.read_at instanceof Date ? r.read_at.toISOString() : r.read_at,
  created_at: r.created_at instanceof Date ? r.created_at.toISOString() : r.created_at,
});

const toEvent = (r: NotificationDbRow | NotificationRow): StreamEvent => {
  const view = notificationView(r);
  return { id: r.stream_id!, type: NOTIFICATION_EVENT, data: { notification_id: view.id, notification: view }, created_at: view.created_at };
};

export const NOTIFICATION_COLUMNS = ['id', 'user_id', 'space_id', 'type', 'title', 'body', 'data', 'stream_id', 'read_at', 'created_at'] as const;

/** Durable history of inbox streams: the pushed notifications, by stream id. */
export const inboxHistory = (sql: Sql): EventHistory => ({
  async readAfter(userId, afterId, limit) {
    const rows = await sql<NotificationDbRow[]>`
      SELECT ${sql(NOTIFICATION_COLUMNS)} FROM notifications
      WHERE user_id = ${userId} AND stream_id > ${afterId}
      ORDER BY stream_id LIMIT ${limit}`;
    return rows.map(toEvent);
  },
});

/** The stream events of one committed inbox batch, per user (for the Redis tail and the fan-out). */
export function inboxStreamEvents(batch: CommittedBatch): Array<{ userId: string; events: StreamEvent[] }> {
  const out: Array<{ userId: string; events: StreamEvent[] }> = [];
  for (const a of batch.actors) {
    const events: StreamEvent[] = [];
    for (const e of a.events as InboxEvent[]) if (e.type === 'notification' && e.row.stream_id !== null) events.push(toEvent(e.row));
    if (events.length > 0) out.push({ userId: a.id, events });
  }
  return out;
}
