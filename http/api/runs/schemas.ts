import { z } from 'zod';
import { pageQuery } from '../../pagination.ts';

export const RunSchema = z.object({
  id: z.string(),
  thread_id: z.string(),
  space_id: z.string(),
  session_id: z.string().nullable(),
  parent_run_id: z.string().nullable(),
  child_thread_id: z.string().nullable(),
  root_thread_id: z.string(),
  root_run_id: z.string(),
  agent_type: z.string(),
  status: z.enum(['pending', 'queued', 'running', 'completed', 'failed', 'cancelled']),
  /** JSON string of the request's `input` object (the original's shape). */
  input: z.string(),
  output: z.string().nullable(),
  error: z.string().nullable(),
  /** JSON string, e.g. {"inputTokens":N,"outputTokens":M}. */
  usage: z.string(),
  model: z.string().nullable(),
  last_event_id: z.number().int(),
  worker_id: z.string().nullable(),
  worker_heartbeat: z.string().nullable(),
  started_at: z.string().nullable(),
  completed_at: z.string().nullable(),
  created_at: z.string(),
});

export const CreateRunBody = z
  .object({
    agent_type: z.string().trim().min(1).max(64).optional(),
    input: z.record(z.string(), z.unknown()).optional(),
    parent_run_id: z.string().optional(),
    model: z.string().trim().min(1).max(200).optional(),
  })
  .optional()
  .transform((b) => b ?? {});

export const ListRunsQuery = z.object({
  active_only: z.string().optional().transform((v) => v === '1' || v === 'true'),
  cursor: z.string().optional(),
  ...pageQuery(50, 200),
});

const eventId = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v === '') return 0;
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) {
      ctx.addIssue({ code: 'custom', message: 'Invalid last_event_id' });
      return z.NEVER;
    }
    return Number(v);
  });

export const EventsQuery = z.object({ last_event_id: eventId, after: eventId, ...pageQuery(1000, 5000) });

export const EventSchema = z.object({
  id: z.number().int(),
  event_id: z.string(),
  run_id: z.string(),
  type: z.string(),
  /** JSON string of the event's data (the original's shape). */
  data: z.string(),
  created_at: z.string(),
});

export const ARTIFACT_TYPES = ['code', 'config', 'doc', 'patch', 'report', 'other'] as const;

export const CreateArtifactBody = z.object({
  type: z.enum(ARTIFACT_TYPES),
  title: z.string().max(500).nullable().optional(),
  content: z.string().nullable().optional(),
  file_id: z.string().max(128).nullable().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

export const ArtifactSchema = z.object({
  id: z.string(),
  run_id: z.string(),
  space_id: z.string(),
  type: z.enum(ARTIFACT_TYPES),
  title: z.string().nullable(),
  content: z.string().nullable(),
  file_id: z.string().nullable(),
  metadata: z.string(),
  created_at: z.string(),
});
