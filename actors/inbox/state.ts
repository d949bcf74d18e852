import type { NotificationType, PreferenceOverrides } from './catalog.ts';

/**
 * The per-user inbox actor (kind `inbox`, id = user id): the single writer of a user's notifications, preferences
 * and mute, and of the user's realtime stream ids.
 *
 * Delivery rules (spec 4.3, with what "not delivered" means made explicit):
 *
 *   notify(type, ...)
 *     type's in_app and push both off ----------------> dropped: nothing stored, reply { stored: false }
 *     stored; in_app on and not muted (muted_until > now) --> pushed live: next stream id, event `notification.new`
 *     stored; in_app off, or muted -------------------> stored only: no stream id, never pushed (not when the mute
 *                                                         ends either); listed and counted as unread while the
 *                                                         type's in_app preference is on
 *
 *   The list and the unread count apply the user's current in_app preferences, so turning a type's in_app off
 *   hides its notifications and turning it on again shows them. Email and push are never sent (no such channel
 *   exists here, as in the original): their preferences are stored and push counts toward "stored at all".
 *
 * Stream ids are contiguous per user (1, 2, 3, ...) among pushed notifications: they are the SSE `id:` and the
 * WebSocket `eventId`, and the realtime history (notifications with a stream id) is exactly the pushed ones, so a
 * client resuming with Last-Event-ID gets the same events a connected client got.
 *
 * created_at is strictly increasing per user at millisecond precision (a tie gets the next millisecond), so the
 * `before` page boundary of the list never splits two notifications created in the same millisecond.
 *
 * Idempotency: producers pass a command id derived from what happened (run id + event id, reminder id + firing
 * number), so a redelivered cause creates one notification.
 */
export interface InboxState {
  userId: string;
  /** The user exists (an account of type user); notifications to anyone else are refused without writing. */
  exists: boolean;
  lastStreamId: number;
  /** Epoch ms of the newest notification's created_at, 0 when none. */
  lastCreatedAtMs: number;
  mutedUntil: string | null;
  prefs: PreferenceOverrides;
}

export interface NotificationInput {
  type: NotificationType;
  space_id?: string | null;
  title: string;
  body?: string | null;
  data?: Record<string, unknown>;
}

export interface NotificationRow {
  id: string;
  user_id: string;
  space_id: string | null;
  type: NotificationType;
  title: string;
  body: string | null;
  data: Record<string, unknown>;
  stream_id: number | null;
  read_at: string | null;
  created_at: string;
}

export interface PreferenceUpdate {
  type: NotificationType;
  channel: 'in_app' | 'email' | 'push';
  enabled: boolean;
}

export type InboxCommand =
  | { type: 'notify'; notification: NotificationInput }
  | { type: 'set_preferences'; updates: PreferenceUpdate[] }
  | { type: 'set_settings'; muted_until: string | null };

export type InboxEvent =
  | { type: 'notification'; row: NotificationRow }
  | { type: 'preferences'; updates: PreferenceUpdate[] };

export type InboxReply =
  | { stored: false; reason: string }
  | { stored: true; id: string; stream_id: number | null }
  | { preferences: PreferenceOverrides }
  | { muted_until: string | null };
