import { z } from 'zod';
import { OPAQUE_ID } from '../../../runtime/ids.ts';
import { RoleSchema } from '../spaces/views.ts';
import { pageQuery } from '../../pagination.ts';

/** Request and response shapes of the threads family (spec 8). Dates are ISO strings with milliseconds. */

export const THREAD_STATUSES = ['active', 'archived', 'deleted'] as const;
export const ThreadStatusSchema = z.enum(THREAD_STATUSES);
export type ThreadStatus = z.infer<typeof ThreadStatusSchema>;
export const LocaleSchema = z.enum(['ja', 'en']);
export const MESSAGE_ROLES = ['user', 'assistant', 'system', 'tool'] as const;
export const MessageRoleSchema = z.enum(MESSAGE_ROLES);
export type MessageRole = z.infer<typeof MessageRoleSchema>;

export const ThreadSchema = z.object({
  id: z.string(),
  space_id: z.string(),
  title: z.string().nullable(),
  locale: LocaleSchema.nullable(),
  status: ThreadStatusSchema,
  summary: z.string().nullable(),
  key_points: z.string(),
  retrieval_index: z.number().int(),
  context_window: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type ThreadView = z.infer<typeof ThreadSchema>;

export const MessageSchema = z.object({
  id: z.string(),
  thread_id: z.string(),
  role: MessageRoleSchema,
  content: z.string(),
  tool_calls: z.string().nullable(),
  tool_call_id: z.string().nullable(),
  metadata: z.string(),
  sequence: z.number().int(),
  created_at: z.string(),
});
export type MessageView = z.infer<typeof MessageSchema>;

/** Titles: trimmed; blank means "no title" (null), as the original's `title || null`. */
const Title = z
  .string()
  .trim()
  .max(200)
  .transform((s) => (s === '' ? null : s));

/** The body may be absent altogether: an untitled thread. */
export const CreateThreadBody = z
  .object({
    title: Title.nullable().optional(),
    locale: LocaleSchema.nullable().optional(),
  })
  .default({});

export const PatchThreadBody = z.object({
  title: Title.nullable().optional(),
  locale: LocaleSchema.nullable().optional(),
  status: ThreadStatusSchema.optional(),
  context_window: z.number().int().min(20).max(200).optional(),
});

export const ThreadListQuery = z.object({
  // `?status=` (empty) means no filter, as in the original; an unknown status is a 422.
  status: z.preprocess((v) => (v === '' ? undefined : v), ThreadStatusSchema.optional()),
  // The original lists every thread of the space; a page (default 200, max 500) keeps one request bounded.
  ...pageQuery(200, 500),
});

export const ThreadResponse = z.object({ thread: ThreadSchema });
export const ThreadWithRoleResponse = z.object({ thread: ThreadSchema, role: RoleSchema });
export const ThreadListResponse = z.object({ threads: z.array(ThreadSchema), total: z.number().int(), limit: z.number().int(), offset: z.number().int() });
export const SuccessResponse = z.object({ success: z.literal(true) });

/** Message bodies: up to the API's 1 MiB request limit; content may be empty only with attachments. */
export const CreateMessageBody = z.object({
  role: MessageRoleSchema,
  content: z.string().optional(),
  tool_calls: z.array(z.unknown()).optional(),
  tool_call_id: z.string().max(256).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

export const MessagesQuery = z.object(pageQuery(100, 200));
export const HistoryQuery = z.object({
  ...pageQuery(100, 200),
  include_messages: z.string().optional(),
  root_run_id: z.string().regex(OPAQUE_ID, 'must be a run id').optional(),
});

export const MessageResponse = z.object({ message: MessageSchema });

/** A run as the runs family stores it; this family only passes it through (see runs-view.ts). */
const RunJson = z.record(z.string(), z.unknown());
export const PendingSessionDiffSchema = z.object({ sessionId: z.string(), sessionStatus: z.string(), git_mode: z.boolean() }).nullable();

export const MessagesResponse = z.object({
  messages: z.array(MessageSchema),
  total: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
  activeRun: RunJson.nullable(),
  pendingSessionDiff: PendingSessionDiffSchema,
});

export const SearchQuery = z.object({
  q: z.string().max(500).optional(),
  type: z.string().trim().toLowerCase().pipe(z.enum(['all', 'keyword', 'semantic'])).optional(),
  ...pageQuery(20, 100),
});

const MatchSchema = z.object({ start: z.number().int(), end: z.number().int() }).nullable();
const MessageRefSchema = z.object({ id: z.string(), sequence: z.number().int(), role: z.string(), created_at: z.string() });
const ThreadRefSchema = z.object({ id: z.string(), title: z.string().nullable(), status: ThreadStatusSchema, created_at: z.string(), updated_at: z.string() });

const searchEnvelope = <T extends z.ZodType>(result: T) =>
  z.object({
    query: z.string(),
    type: z.string(),
    results: z.array(result),
    limit: z.number().int(),
    offset: z.number().int(),
    semantic_available: z.boolean(),
  });

export const SpaceSearchResponse = searchEnvelope(
  z.object({ kind: z.literal('keyword'), thread: ThreadRefSchema, message: MessageRefSchema, snippet: z.string(), match: MatchSchema }),
);
export const MessageSearchResponse = searchEnvelope(
  z.object({ kind: z.literal('keyword'), message: MessageRefSchema, snippet: z.string(), match: MatchSchema }),
);

export const ExportQuery = z.object({
  format: z.string().optional(),
  include_internal: z.string().optional(),
});
