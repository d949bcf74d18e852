import { z } from 'zod';

export const TASK_STATUSES = ['planned', 'in_progress', 'blocked', 'completed', 'cancelled'] as const;
export const TASK_PRIORITIES = ['low', 'medium', 'high', 'urgent'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** Absent / empty / garbage limit -> 50, above 200 -> 200 (spec 11); offset likewise lenient. */
const lenientInt = (def: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v) => {
      const n = Number(v);
      if (v === undefined || v === '' || !Number.isFinite(n) || n < 0 || (def > 0 && n === 0)) return def;
      return Math.min(Math.floor(n), max);
    });

export const ListTasksQuery = z.object({
  /** Checked by the handler: the original answers 400 "Invalid status" here, not 422. */
  status: z.string().optional(),
  limit: lenientInt(50, 200),
  offset: lenientInt(0, Number.MAX_SAFE_INTEGER),
});

const isoDate = z
  .string()
  .max(64)
  .refine((v) => !Number.isNaN(Date.parse(v)), 'must be an ISO 8601 date-time');
const model = z.string().trim().min(1).max(200);
const plan = z.union([z.string().max(100_000), z.record(z.string(), z.unknown())]);

/** Fields a task takes on create and on update alike. */
const taskFields = {
  /** Checked by the create handler (blank -> 400 "title is required", as the original). */
  title: z.string().max(500).optional(),
  description: z.string().max(100_000).nullable().optional(),
  status: z.enum(TASK_STATUSES).optional(),
  priority: z.enum(TASK_PRIORITIES).optional(),
  agent_type: z.string().trim().max(64).optional(),
  model: model.nullable().optional(),
  plan: plan.nullable().optional(),
  due_at: isoDate.nullable().optional(),
  thread_id: z.string().min(1).max(128).nullable().optional(),
};

export const CreateTaskBody = z.object({ ...taskFields, create_thread: z.boolean().optional() });

export const PatchTaskBody = z.object({
  ...taskFields,
  last_run_id: z.string().min(1).max(128).nullable().optional(),
  started_at: isoDate.nullable().optional(),
  completed_at: isoDate.nullable().optional(),
});

export const PlanTaskBody = z
  .object({
    /** Wait up to this long for the planning run to finish (0: answer 202 at once; poll the task or watch the run). */
    wait_ms: z.number().int().min(0).max(60_000).optional(),
  })
  .optional()
  .transform((b) => b ?? {});

const LatestRunSchema = z.object({
  run_id: z.string(),
  status: z.string(),
  agent_type: z.string(),
  started_at: z.string().nullable(),
  completed_at: z.string().nullable(),
  created_at: z.string(),
  error: z.string().nullable(),
  artifact_count: z.number().int(),
});

export const TaskSchema = z.object({
  id: z.string(),
  space_id: z.string(),
  created_by: z.string().nullable(),
  thread_id: z.string().nullable(),
  last_run_id: z.string().nullable(),
  title: z.string(),
  description: z.string().nullable(),
  status: z.enum(TASK_STATUSES),
  priority: z.enum(TASK_PRIORITIES),
  agent_type: z.string(),
  model: z.string().nullable(),
  /** JSON text of the plan object (or free text), null when there is none. */
  plan: z.string().nullable(),
  /** none | pending (a planning run is under way: `plan_run_id`) | ready */
  plan_status: z.enum(['none', 'pending', 'ready']),
  plan_run_id: z.string().nullable(),
  due_at: z.string().nullable(),
  started_at: z.string().nullable(),
  completed_at: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  thread_title: z.string().nullable(),
  latest_run: LatestRunSchema.nullable(),
  resume_target: z
    .object({ thread_id: z.string(), run_id: z.string().nullable(), reason: z.enum(['active', 'failed', 'latest', 'thread']) })
    .nullable(),
});

export const TaskResponse = z.object({ task: TaskSchema });
export const TaskListResponse = z.object({ tasks: z.array(TaskSchema) });

export const PlanSchema = z.object({
  type: z.enum(['conversation', 'tool_only', 'code_change', 'composite']),
  tools: z.array(z.string()),
  needsRepo: z.boolean(),
  needsRuntime: z.boolean(),
  usePR: z.boolean(),
  needsReview: z.boolean(),
  reviewType: z.enum(['self', 'separate_ai']),
  commitMessage: z.string().optional(),
  reasoning: z.string().optional(),
  repoId: z.string().optional(),
  steps: z.array(z.unknown()).optional(),
});

export const PlanResponse = z.object({
  task: TaskSchema,
  /** The plan, once the planning run has finished; null while it runs (202). */
  plan: PlanSchema.nullable(),
  run: z.object({ id: z.string(), status: z.string(), thread_id: z.string() }),
});
