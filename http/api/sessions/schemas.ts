import { z } from 'zod';

export const SESSION_STATUSES = ['initializing', 'running', 'stopped', 'merged', 'discarded', 'dead', 'failed'] as const;

export const StartSessionBody = z
  .object({
    /** Default: the space's default repository (the original required it). */
    repo_id: z.string().min(1).max(128).optional(),
    /** Default: the repository's default branch; created from it when it does not exist. */
    branch: z.string().min(1).max(200).optional(),
  })
  .optional()
  .transform((b) => b ?? {});

export const StopSessionBody = z
  .object({ commit_message: z.string().trim().min(1).max(10_000).optional() })
  .optional()
  .transform((b) => b ?? {});

/** How the session runtime authenticates its heartbeats; the token is shown once (start, resume). */
export const HeartbeatGrantSchema = z.object({
  token: z.string(),
  /** Send `Authorization: Bearer <token>` to this path. */
  url: z.string(),
  interval_ms: z.number().int(),
  timeout_ms: z.number().int(),
  start_grace_ms: z.number().int(),
  expires_at: z.string(),
});

export const StartSessionResponse = z.object({
  session_id: z.string(),
  status: z.literal('running'),
  runtime_init: z.object({
    success: z.literal(true),
    file_count: z.number().int(),
    session_dir: z.string(),
    work_dir: z.string(),
    git_mode: z.literal(true),
    branch: z.string(),
    base_commit: z.string(),
    created_branch: z.boolean(),
  }),
  git_mode: z.literal(true),
  repo_id: z.string(),
  repo_name: z.string(),
  branch: z.string(),
  heartbeat: HeartbeatGrantSchema,
});

export const GitResultSchema = z.object({
  committed: z.boolean(),
  commit: z.string().nullable(),
  parent: z.string(),
  branch: z.string(),
  rebased: z.boolean(),
  files: z.array(z.object({ path: z.string(), change: z.enum(['added', 'modified', 'deleted']) })),
});

export const StopSessionResponse = z.object({
  success: z.literal(true),
  git_mode: z.literal(true),
  repo_id: z.string(),
  branch: z.string(),
  git_result: GitResultSchema,
});

export const ResumeSessionResponse = z.object({
  success: z.literal(true),
  session_id: z.string(),
  /** The commit the re-opened working copy starts from. */
  base_snapshot_id: z.string(),
  /** The commit the last stop wrote (null when it had nothing to commit). */
  head_snapshot_id: z.string().nullable(),
  status: z.literal('running'),
  runtime_init: z.object({ file_count: z.number().int(), session_dir: z.string(), work_dir: z.string(), branch: z.string() }),
  heartbeat: HeartbeatGrantSchema,
});

export const HeartbeatResponse = z.object({ success: z.literal(true), timestamp: z.string() });

export const HealthResponse = z.object({
  session_id: z.string(),
  status: z.enum(SESSION_STATUSES),
  is_healthy: z.boolean(),
  last_heartbeat: z.string().nullable(),
  created_at: z.string(),
  /** Absent when healthy. */
  reason: z.enum(['not_running', 'heartbeat_timeout']).optional(),
  /** When a running session is declared dead without a further heartbeat (null unless running). */
  deadline_at: z.string().nullable(),
  /** Why a dead or failed session ended: heartbeat_timeout, max_age, init_timeout, init_error. */
  ended_reason: z.string().nullable(),
  branch: z.string(),
  repo_id: z.string(),
});

export const SuccessResponse = z.object({ success: z.literal(true) });
