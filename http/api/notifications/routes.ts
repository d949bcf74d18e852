import { z } from 'zod';
import { badRequest } from '../../../runtime/errors.ts';
import { route, type AnyRoute } from '../../route.ts';
import { CHANNELS, isChannel, isNotificationType, NOTIFICATION_TYPES, preferenceMatrix } from '../../../actors/inbox/catalog.ts';
import { inboxKind } from '../../../actors/inbox/kind.ts';
import type { PreferenceUpdate } from '../../../actors/inbox/state.ts';
import { notificationView } from '../../../actors/inbox/stream.ts';
import { inboxCounters, listNotifications, markRead, readOverrides, unreadCount } from './queries.ts';
import { ListQuery, NotificationSchema, PatchPreferencesBody, PatchSettingsBody, PreferencesResponse, SettingsSchema } from './schemas.ts';
import { notificationsStreamRoutes } from './realtime.ts';

/**
 * Notifications (spec 4): per user, no space scoping. Delivery rules (what is stored, pushed, listed) live with the
 * inbox actor (actors/inbox/state.ts); the realtime routes are in realtime.ts.
 */
const family = 'notifications';

const preferencesBody = (overrides: Parameters<typeof preferenceMatrix>[0]) => ({
  types: [...NOTIFICATION_TYPES],
  channels: [...CHANNELS],
  preferences: preferenceMatrix(overrides),
});

export function notificationsRoutes(): AnyRoute[] {
  return [
    route({
      method: 'GET',
      path: '/api/notifications',
      family,
      summary: 'Notifications, newest first (limit default 20, max 50; before = ISO time; type; unread_only)',
      query: ListQuery,
      response: z.object({ notifications: z.array(NotificationSchema) }),
      async handler(c) {
        const rows = await listNotifications(c.deps.sql, c.auth.userId, { limit: c.query.limit, before: c.query.before, type: c.query.type, unreadOnly: c.query.unread_only });
        return { notifications: rows.map(notificationView) };
      },
    }),
    route({
      method: 'GET',
      path: '/api/notifications/unread-count',
      family,
      summary: 'Unread notifications (types with in_app on)',
      response: z.object({ unread_count: z.number().int() }),
      async handler(c) {
        return { unread_count: await unreadCount(c.deps.sql, c.auth.userId) };
      },
    }),
    route({
      method: 'PATCH',
      path: '/api/notifications/:id/read',
      family,
      summary: 'Mark one notification read (idempotent; 404 if it is not yours)',
      response: z.object({ success: z.literal(true) }),
      async handler(c) {
        await markRead(c.deps.sql, c.auth.userId, c.params.id!);
        return { success: true as const };
      },
    }),
    route({
      method: 'GET',
      path: '/api/notifications/preferences',
      family,
      summary: 'Preference matrix: every type x channel (in_app, email, push)',
      response: PreferencesResponse,
      async handler(c) {
        return preferencesBody(await readOverrides(c.deps.sql, c.auth.userId));
      },
    }),
    route({
      method: 'PATCH',
      path: '/api/notifications/preferences',
      family,
      summary: 'Change preferences: {updates:[{type, channel, enabled}]}',
      body: PatchPreferencesBody,
      response: PreferencesResponse,
      async handler(c) {
        const updates: PreferenceUpdate[] = [];
        for (const u of c.body.updates) {
          if (!isNotificationType(u.type)) throw badRequest(`Invalid type: ${u.type}`);
          if (!isChannel(u.channel)) throw badRequest(`Invalid channel: ${u.channel}`);
          updates.push({ type: u.type, channel: u.channel, enabled: u.enabled });
        }
        const r = (await c.deps.actors.send(inboxKind, c.auth.userId, { type: 'set_preferences', updates })) as { preferences: Record<string, boolean> };
        return preferencesBody(r.preferences);
      },
    }),
    route({
      method: 'GET',
      path: '/api/notifications/settings',
      family,
      summary: 'Notification settings (muted_until)',
      response: SettingsSchema,
      async handler(c) {
        return { muted_until: (await inboxCounters(c.deps.sql, c.auth.userId)).mutedUntil };
      },
    }),
    route({
      method: 'PATCH',
      path: '/api/notifications/settings',
      family,
      summary: 'Mute live delivery until a time (null unmutes)',
      body: PatchSettingsBody,
      response: SettingsSchema,
      async handler(c) {
        const r = (await c.deps.actors.send(inboxKind, c.auth.userId, { type: 'set_settings', muted_until: c.body.muted_until })) as { muted_until: string | null };
        return { muted_until: r.muted_until };
      },
    }),
    ...notificationsStreamRoutes(),
  ];
}
