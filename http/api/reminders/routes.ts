import { z } from 'zod';
import { validationError } from '../../../runtime/errors.ts';
import { newId } from '../../../runtime/ids.ts';
import { created } from '../../reply.ts';
import { route, type AnyRoute } from '../../route.ts';
import { ALL, EDITOR_PLUS, requireSpace } from '../spaces/access.ts';
import { reminderKind } from '../../../actors/reminder/kind.ts';
import type { ReminderPatch, ReminderRow } from '../../../actors/reminder/state.ts';
import { listReminders, requireReminder } from './queries.ts';
import { CreateReminderBody, DUE_TIME_MESSAGE, DueTime, ListRemindersQuery, PatchReminderBody, ReminderSchema } from './schemas.ts';

/**
 * Reminders (workspace spec 7). Every change goes through the reminder's actor, which owns its durable timer
 * (actors/reminder/state.ts): `time` reminders fire at their time and notify their creator.
 *
 * Deviations from the original, on purpose: creating needs EDITOR+ like every other reminder write (the original
 * let viewers create, listed as a breakage); a reminder in a foreign space is 404, not 403; `status` is validated;
 * priority sorts by rank; a `time` reminder's trigger_value must be an ISO time (it is what the timer fires at).
 */
const family = 'reminders';

const view = (r: ReminderRow) => ({
  id: r.id,
  space_id: r.space_id,
  user_id: r.user_id,
  content: r.content,
  context: r.context,
  trigger_type: r.trigger_type,
  trigger_value: r.trigger_value,
  due_at: r.due_at,
  status: r.status,
  triggered_at: r.triggered_at,
  priority: r.priority,
  created_at: r.created_at,
  updated_at: r.updated_at,
});

const dueAt = (v: string | null | undefined) => (v ? new Date(v).toISOString() : null);

export function remindersRoutes(): AnyRoute[] {
  return [
    route({
      method: 'GET',
      path: '/api/spaces/:spaceId/reminders',
      family,
      summary: 'Reminders of a space, highest priority first (status filter; limit default 50, max 100)',
      query: ListRemindersQuery,
      response: z.object({ reminders: z.array(ReminderSchema) }),
      async handler(c) {
        const { space } = await requireSpace(c.deps.sql, c.auth.userId, c.params.spaceId!, ALL);
        return { reminders: (await listReminders(c.deps.sql, space.id, { status: c.query.status, limit: c.query.limit })).map(view) };
      },
    }),
    route({
      method: 'POST',
      path: '/api/spaces/:spaceId/reminders',
      family,
      summary: 'Create a reminder (a time reminder fires at trigger_value and notifies its creator)',
      body: CreateReminderBody,
      response: ReminderSchema,
      status: 201,
      async handler(c) {
        const { space } = await requireSpace(c.deps.sql, c.auth.userId, c.params.spaceId!, EDITOR_PLUS);
        const b = c.body;
        const r = await c.deps.actors.send(reminderKind, newId(), {
          type: 'create',
          reminder: {
            space_id: space.id,
            user_id: c.auth.userId,
            content: b.content,
            context: b.context ?? null,
            trigger_type: b.trigger_type,
            trigger_value: b.trigger_value ?? null,
            due_at: b.trigger_type === 'time' ? dueAt(b.trigger_value) : null,
            priority: b.priority ?? 'normal',
          },
        });
        return created(view(r as ReminderRow));
      },
    }),
    route({
      method: 'GET',
      path: '/api/reminders/:id',
      family,
      summary: 'One reminder',
      response: ReminderSchema,
      async handler(c) {
        return view((await requireReminder(c.deps.sql, c.auth.userId, c.params.id!)).reminder);
      },
    }),
    route({
      method: 'PATCH',
      path: '/api/reminders/:id',
      family,
      summary: 'Update a reminder (status pending re-arms a time reminder; trigger_type is immutable)',
      body: PatchReminderBody,
      response: ReminderSchema,
      async handler(c) {
        const { reminder } = await requireReminder(c.deps.sql, c.auth.userId, c.params.id!, EDITOR_PLUS);
        const { trigger_value, ...rest } = c.body;
        const patch: ReminderPatch = { ...rest };
        if (trigger_value !== undefined) {
          if (reminder.trigger_type === 'time' && !DueTime.safeParse(trigger_value).success) {
            throw validationError([{ in: 'body', path: 'trigger_value', message: DUE_TIME_MESSAGE, code: 'custom' }]);
          }
          patch.trigger_value = trigger_value;
          if (reminder.trigger_type === 'time') patch.due_at = dueAt(trigger_value);
        }
        return view((await c.deps.actors.send(reminderKind, reminder.id, { type: 'update', patch })) as ReminderRow);
      },
    }),
    route({
      method: 'DELETE',
      path: '/api/reminders/:id',
      family,
      summary: 'Delete a reminder (its timers go with it)',
      response: z.object({ success: z.literal(true) }),
      async handler(c) {
        const { reminder } = await requireReminder(c.deps.sql, c.auth.userId, c.params.id!, EDITOR_PLUS);
        await c.deps.actors.send(reminderKind, reminder.id, { type: 'delete' });
        return { success: true as const };
      },
    }),
    route({
      method: 'POST',
      path: '/api/reminders/:id/trigger',
      family,
      summary: 'Fire a reminder now (any status): triggered, and its creator is notified',
      response: ReminderSchema,
      async handler(c) {
        const { reminder } = await requireReminder(c.deps.sql, c.auth.userId, c.params.id!, EDITOR_PLUS);
        return view((await c.deps.actors.send(reminderKind, reminder.id, { type: 'trigger' })) as ReminderRow);
      },
    }),
  ];
}
