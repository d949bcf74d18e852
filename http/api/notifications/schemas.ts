import { z } from 'zod';
import { pageQuery } from '../../pagination.ts';
import { CHANNELS, NOTIFICATION_TYPES } from '../../../actors/inbox/catalog.ts';

/** ISO-8601 with a zone (`Z` or an offset), as the original's `new Date(x)` accepted for these fields in practice. */
export const IsoTime = z.iso.datetime({ offset: true });

export const NotificationSchema = z.object({
  id: z.string(),
  user_id: z.string(),
  space_id: z.string().nullable(),
  type: z.string(),
  title: z.string(),
  body: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
  /** Realtime event id (SSE `id:`, WebSocket `eventId`); null when the notification was not pushed (muted, in_app off). */
  stream_id: z.number().int().nullable(),
  read_at: z.string().nullable(),
  created_at: z.string(),
});

export const ListQuery = z.object({
  limit: pageQuery(20, 50).limit,
  before: IsoTime.optional(),
  /** Additions to the original (the endpoint list promises filters): one type, and unread only. */
  type: z.enum(NOTIFICATION_TYPES).optional(),
  unread_only: z.enum(['true', 'false', '1', '0']).optional().transform((v) => v === 'true' || v === '1'),
});

const ChannelPrefsSchema = z.object({ in_app: z.boolean(), email: z.boolean(), push: z.boolean() });
export const PreferencesResponse = z.object({
  types: z.array(z.enum(NOTIFICATION_TYPES)),
  channels: z.array(z.enum(CHANNELS)),
  preferences: z.record(z.string(), ChannelPrefsSchema),
});

/** type/channel are checked by the handler so that unknown values get the original's 400 "Invalid type: x". */
export const PatchPreferencesBody = z.object({
  updates: z.array(z.object({ type: z.string(), channel: z.string(), enabled: z.boolean() })).max(100),
});

export const SettingsSchema = z.object({ muted_until: z.string().nullable() });
export const PatchSettingsBody = z.object({ muted_until: IsoTime.nullable() });
