import { z } from 'zod';
import { pageQuery } from '../../pagination.ts';

export const STATUSES = ['pending', 'triggered', 'completed', 'dismissed'] as const;
export const TRIGGER_TYPES = ['time', 'condition', 'context'] as const;
export const PRIORITIES = ['low', 'normal', 'high', 'critical'] as const;

/** A `time` reminder's trigger_value: an ISO-8601 instant with a zone. The original stored free text and never fired. */
export const DueTime = z.iso.datetime({ offset: true });
export const DUE_TIME_MESSAGE = 'A time reminder needs trigger_value as an ISO-8601 time with a zone, e.g. 2026-03-28T09:00:00Z';

export const ReminderSchema = z.object({
  id: z.string(),
  space_id: z.string(),
  user_id: z.string(),
  content: z.string(),
  context: z.string().nullable(),
  trigger_type: z.enum(TRIGGER_TYPES),
  trigger_value: z.string().nullable(),
  /** Addition: when a time reminder fires (trigger_value normalised to UTC); null for the other trigger types. */
  due_at: z.string().nullable(),
  status: z.enum(STATUSES),
  triggered_at: z.string().nullable(),
  priority: z.enum(PRIORITIES),
  created_at: z.string(),
  updated_at: z.string(),
});

const Content = z.string().trim().min(1).max(10_000);
const Context = z.string().max(10_000).nullable();
const TriggerValue = z.string().trim().max(1_000);

export const CreateReminderBody = z
  .object({
    content: Content,
    context: Context.optional(),
    trigger_type: z.enum(TRIGGER_TYPES),
    trigger_value: TriggerValue.nullable().optional(),
    priority: z.enum(PRIORITIES).optional(),
  })
  .superRefine((b, ctx) => {
    if (b.trigger_type === 'time' && !DueTime.safeParse(b.trigger_value).success) {
      ctx.addIssue({ code: 'custom', path: ['trigger_value'], message: DUE_TIME_MESSAGE });
    }
  });

/** trigger_type is immutable (spec); a time reminder's new trigger_value is checked by the handler, which knows the type. */
export const PatchReminderBody = z
  .object({
    content: Content.optional(),
    context: Context.optional(),
    trigger_value: TriggerValue.nullable().optional(),
    status: z.enum(STATUSES).optional(),
    priority: z.enum(PRIORITIES).optional(),
    trigger_type: z.unknown().optional(),
  })
  .superRefine((b, ctx) => {
    // Said rather than silently dropped: a client changing the type would otherwise believe it had.
    if (b.trigger_type !== undefined) ctx.addIssue({ code: 'custom', path: ['trigger_type'], message: 'trigger_type cannot be changed; create a new reminder' });
  })
  .transform(({ trigger_type: _ignored, ...rest }) => rest);

export const ListRemindersQuery = z.object({
  /** Validated here (the original matched unknown statuses against nothing and answered an empty list). */
  status: z.enum(STATUSES).optional(),
  limit: pageQuery(50, 100).limit,
});
