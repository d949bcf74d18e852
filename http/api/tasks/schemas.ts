import { z } from 'zod';
import { RUN_STATUSES, TASK_STATUSES } from '../../../runtime/tasks/types.ts';
import { relativePathError, scopeGlobError } from '../../../runtime/tasks/scope.ts';

const TaskId = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'must be a task id');
/** Postgres text and jsonb cannot hold NUL characters; refusing them here keeps them a 422 instead of a database error. */
export const noNul = (s: z.ZodString) => s.refine((v) => !v.includes('\0'), 'must not contain NUL characters');

export const WriteScope = z
  .array(noNul(z.string().max(500)))
  .min(1, 'write_scope needs at least one glob')
  .max(100)
  .superRefine((globs, ctx) => {
    globs.forEach((g, i) => {
      const err = scopeGlobError(g);
      if (err) ctx.addIssue({ code: 'custom', path: [i], message: `write_scope glob ${err}` });
    });
  });

export const CreateTaskBody = z.object({
  title: noNul(z.string().trim().min(1).max(500)),
  description: noNul(z.string().max(50_000)).optional(),
  write_scope: WriteScope,
  parent_id: TaskId.nullable().optional(),
  depends_on: z.array(TaskId).max(100).optional(),
});

export const PatchTaskBody = z
  .object({
    title: noNul(z.string().trim().min(1).max(500)).optional(),
    description: noNul(z.string().max(50_000)).optional(),
    write_scope: WriteScope.optional(),
  })
  .refine((b) => b.title !== undefined || b.description !== undefined || b.write_scope !== undefined, { message: 'Provide title, description and/or write_scope' });

const Bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const TaskListQuery = z.object({
  status: z.enum(TASK_STATUSES).optional(),
  /** A task id, or the literal `null` for top-level tasks only. */
  parent_id: z.union([z.literal('null'), TaskId]).optional(),
  include_children: Bool.default(true),
});

export const ReasonSchema = z.object({
  code: z.string(),
  message: z.string(),
  task_id: z.string().optional(),
  run_id: z.string().optional(),
});

const taskFields = {
  id: z.string(),
  project_id: z.string(),
  parent_id: z.string().nullable(),
  title: z.string(),
  description: z.string(),
  write_scope: z.array(z.string()),
  status: z.enum(TASK_STATUSES),
  reasons: z.array(ReasonSchema),
  cancelled_at: z.string().nullable(),
  /** The branch task runs commit to. */
  branch: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
};

export interface TaskListItemT extends z.infer<z.ZodObject<typeof taskFields>> {
  children?: TaskListItemT[];
}

export const TaskListItem: z.ZodType<TaskListItemT> = z.object({
  ...taskFields,
  get children() {
    return z.array(TaskListItem).optional();
  },
});

export const TaskListResponse = z.object({ tasks: z.array(TaskListItem) });

export const RejectedFile = z.object({ path: z.string(), reason: z.string() });

export const TaskRunSchema = z.object({
  id: z.string(),
  task_id: z.string(),
  status: z.enum(RUN_STATUSES),
  agent: z.string(),
  branch: z.string(),
  base_sha: z.string().nullable(),
  head_sha: z.string().nullable(),
  write_scope: z.array(z.string()),
  committed_files: z.array(z.string()),
  rejected_files: z.array(RejectedFile),
  error: z.string().nullable(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
});

export const TaskDetail = z.object({
  ...taskFields,
  dependencies: z.array(z.object({ task_id: z.string(), title: z.string(), status: z.enum(TASK_STATUSES) })),
  latest_run: TaskRunSchema.nullable(),
});

export const Edit = z.object({
  path: z.string().superRefine((p, ctx) => {
    const err = relativePathError(p);
    if (err) ctx.addIssue({ code: 'custom', message: `path ${err}` });
  }),
  /** New full content of the file (text; NUL characters, i.e. binary files, are not supported); null deletes it. */
  content: noNul(z.string()).nullable(),
});

export const StartRunBody = z
  .object({
    /** `manual`: apply `edits` as given. `model`: ask the space's model for edits (default when no edits are given). */
    agent: z.enum(['manual', 'model']).optional(),
    edits: z.array(Edit).max(500).optional(),
    /** Extra instructions for the model agent, added to the task's title and description. */
    instructions: noNul(z.string().max(20_000)).optional(),
    /** Model name for the model agent (else the space's setting). */
    model: noNul(z.string().trim().min(1).max(200)).optional(),
  })
  .superRefine((b, ctx) => {
    const agent = b.agent ?? (b.edits ? 'manual' : 'model');
    if (agent === 'manual' && !b.edits) ctx.addIssue({ code: 'custom', path: ['edits'], message: 'the manual agent needs edits' });
    if (agent === 'model' && b.edits) ctx.addIssue({ code: 'custom', path: ['edits'], message: 'edits are only for the manual agent' });
    if (b.edits && new Set(b.edits.map((e) => e.path)).size !== b.edits.length) ctx.addIssue({ code: 'custom', path: ['edits'], message: 'each path may appear once' });
  });

export const TaskRunListResponse = z.object({ runs: z.array(TaskRunSchema) });
