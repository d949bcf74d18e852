import { badRequest, notFound } from '../../../runtime/errors.ts';
import type { Sql } from '../../../runtime/db.ts';
import { created, reply } from '../../reply.ts';
import { route, type AnyRoute } from '../../route.ts';
import { ADMIN, ALL, EDITOR_PLUS, requireSpace } from '../spaces/access.ts';
import { insertThread } from '../threads/queries.ts';
import { settlePlans, startPlan, waitForRun } from './plan.ts';
import type { Plan } from './plan-parse.ts';
import { deleteTask, insertTask, listTasks, readTask, requireTask, runInSpace, threadInSpace, updateTask, type TaskReadRow } from './queries.ts';
import { CreateTaskBody, ListTasksQuery, PatchTaskBody, PlanResponse, PlanTaskBody, TASK_STATUSES, TaskListResponse, TaskResponse, type TaskStatus } from './schemas.ts';
import { taskView } from './views.ts';
import { z } from 'zod';

/**
 * Agent tasks (workspace spec 11): CRUD with the original's read model, and `plan`, which asks a run for the plan.
 * Fixed from the original: the space is resolved (id, slug or `me`) instead of stored raw; `thread_id` on create
 * must be a thread of the space; `due_at` must be a date; models are kept as given (the runs layer decides).
 */
const planText = (p: unknown) => (p === undefined ? undefined : p === null ? null : typeof p === 'string' ? p : JSON.stringify(p));
const nowIso = () => new Date().toISOString();

/** Reads tasks, first settling any whose planning run has ended (in case the commit listener missed it). */
async function fresh(sql: Sql, rows: TaskReadRow[], reread: () => Promise<TaskReadRow[]>): Promise<TaskReadRow[]> {
  const waiting = rows.filter((r) => r.plan_run_id !== null).map((r) => r.plan_run_id!);
  if (waiting.length === 0) return rows;
  return (await settlePlans(sql, waiting)) > 0 ? reread() : rows;
}

const parseStored = (plan: string | null): Plan | null => {
  try {
    return plan === null ? null : (JSON.parse(plan) as Plan);
  } catch {
    return null;
  }
};

const oneTask = async (sql: Sql, id: string) => (await fresh(sql, [await readTask(sql, id)], async () => [await readTask(sql, id)]))[0]!;

export function agentTasksRoutes(): AnyRoute[] {
  return [
    route({
      method: 'GET',
      path: '/api/spaces/:spaceId/agent-tasks',
      family: 'agent-tasks',
      summary: 'Agent tasks of a space, most recently updated first',
      query: ListTasksQuery,
      response: TaskListResponse,
      async handler(c) {
        const { space } = await requireSpace(c.deps.sql, c.auth.userId, c.params.spaceId!, ALL);
        const status = c.query.status || null;
        if (status !== null && !(TASK_STATUSES as readonly string[]).includes(status)) throw badRequest('Invalid status');
        const read = () => listTasks(c.deps.sql, space.id, { status: status as TaskStatus | null, limit: c.query.limit, offset: c.query.offset });
        return { tasks: (await fresh(c.deps.sql, await read(), read)).map(taskView) };
      },
    }),
    route({
      method: 'POST',
      path: '/api/spaces/:spaceId/agent-tasks',
      family: 'agent-tasks',
      summary: 'Create an agent task (and, unless create_thread is false or thread_id given, its thread)',
      body: CreateTaskBody,
      response: TaskResponse,
      status: 201,
      async handler(c) {
        const { space } = await requireSpace(c.deps.sql, c.auth.userId, c.params.spaceId!, EDITOR_PLUS);
        const b = c.body;
        const title = b.title?.trim();
        if (!title) throw badRequest('title is required');
        if (b.thread_id && !(await threadInSpace(c.deps.sql, space.id, b.thread_id))) throw notFound('Thread');
        const status = b.status ?? 'planned';
        const id = await c.deps.sql.begin(async (tx) => {
          const threadId = b.thread_id ?? (b.create_thread === false ? null : (await insertThread(tx, space.id, { title, locale: null })).id);
          return insertTask(tx, {
            account_id: space.id,
            created_by_account_id: c.auth.userId,
            thread_id: threadId,
            title,
            description: b.description ?? null,
            status,
            priority: b.priority ?? 'medium',
            agent_type: b.agent_type || 'default',
            model: b.model ?? null,
            plan: planText(b.plan) ?? null,
            due_at: b.due_at ?? null,
            started_at: status === 'in_progress' ? nowIso() : null,
            completed_at: status === 'completed' ? nowIso() : null,
          });
        });
        return created({ task: taskView(await readTask(c.deps.sql, id)) });
      },
    }),
    route({
      method: 'GET',
      path: '/api/agent-tasks/:id',
      family: 'agent-tasks',
      summary: 'One agent task',
      response: TaskResponse,
      async handler(c) {
        await requireTask(c.deps.sql, c.auth.userId, c.params.id!, ALL);
        return { task: taskView(await oneTask(c.deps.sql, c.params.id!)) };
      },
    }),
    route({
      method: 'PATCH',
      path: '/api/agent-tasks/:id',
      family: 'agent-tasks',
      summary: 'Update an agent task (no state machine: any status from any status)',
      body: PatchTaskBody,
      response: TaskResponse,
      async handler(c) {
        const { task } = await requireTask(c.deps.sql, c.auth.userId, c.params.id!, EDITOR_PLUS);
        const b = c.body;
        const patch: Record<string, unknown> = {};
        if (b.title !== undefined) {
          if (!b.title.trim()) throw badRequest('title is required');
          patch.title = b.title.trim();
        }
        for (const k of ['description', 'status', 'priority', 'model', 'due_at', 'started_at', 'completed_at'] as const) if (b[k] !== undefined) patch[k] = b[k];
        if (b.agent_type !== undefined) patch.agent_type = b.agent_type || 'default';
        if (b.plan !== undefined) {
          patch.plan = planText(b.plan);
          // A plan set by hand wins over a planning run still under way.
          patch.plan_run_id = null;
        }
        if (b.thread_id !== undefined) {
          if (b.thread_id !== null && !(await threadInSpace(c.deps.sql, task.account_id, b.thread_id))) throw notFound('Thread');
          patch.thread_id = b.thread_id;
        }
        if (b.last_run_id !== undefined) {
          if (b.last_run_id !== null && !(await runInSpace(c.deps.sql, task.account_id, b.last_run_id))) throw notFound('Run');
          patch.last_run_id = b.last_run_id;
        }
        if (Object.keys(patch).length === 0) throw badRequest('No valid updates provided');
        if (b.status === 'completed' && b.completed_at === undefined) patch.completed_at = nowIso();
        if (b.status === 'in_progress' && b.started_at === undefined) patch.started_at = nowIso();
        if (!(await updateTask(c.deps.sql, task.id, patch))) throw notFound('Task');
        return { task: taskView(await oneTask(c.deps.sql, task.id)) };
      },
    }),
    route({
      method: 'DELETE',
      path: '/api/agent-tasks/:id',
      family: 'agent-tasks',
      summary: 'Delete an agent task (its thread and runs stay)',
      response: z.object({ success: z.literal(true) }),
      async handler(c) {
        const { task } = await requireTask(c.deps.sql, c.auth.userId, c.params.id!, ADMIN);
        await deleteTask(c.deps.sql, task.id);
        return { success: true as const };
      },
    }),
    route({
      method: 'POST',
      path: '/api/agent-tasks/:id/plan',
      family: 'agent-tasks',
      summary: 'Generate an execution plan with a run (202 while it runs; 200 with the plan when it ended within wait_ms)',
      body: PlanTaskBody,
      response: PlanResponse,
      // It may wait for the run (wait_ms): that wait must not hold one of the database admission slots.
      longLived: true,
      async handler(c) {
        await requireTask(c.deps.sql, c.auth.userId, c.params.id!, EDITOR_PLUS);
        const before = await oneTask(c.deps.sql, c.params.id!);
        const run = await startPlan(c.deps, before, c.auth.userId);
        const ended = await waitForRun(c.deps.sql, c.deps.streams.hub, run.id, c.body.wait_ms ?? 0);
        if (ended) await settlePlans(c.deps.sql, [run.id]);
        const task = await readTask(c.deps.sql, before.id);
        const [now] = await c.deps.sql<{ status: string }[]>`SELECT status FROM runs WHERE id = ${run.id}`;
        const plan = ended && task.plan_run_id === null ? parseStored(task.plan) : null;
        const body = { task: taskView(task), plan, run: { id: run.id, status: now?.status ?? run.status, thread_id: run.thread_id } };
        return plan ? body : reply(202, body);
      },
    }),
  ];
}
