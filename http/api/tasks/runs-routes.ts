import { z } from 'zod';
import { AppError, notFound } from '../../../runtime/errors.ts';
import { pageQuery } from '../../pagination.ts';
import { reply } from '../../reply.ts';
import { route } from '../../route.ts';
import { PROJECT_READ, PROJECT_WRITE } from '../projects/access.ts';
import { lockProject } from '../projects/queries.ts';
import { requireTask } from './access.ts';
import { failLostRuns, getRun, insertRun, listRuns } from './runs-queries.ts';
import { StartRunBody, TaskRunListResponse, TaskRunSchema } from './schemas.ts';
import { runView } from './views.ts';

/**
 * Task runs (not in the seed; this server's way of starting a task): `POST /api/tasks/:id/runs` queues a run that
 * works in a git worktree on the task branch and commits what the agent changed inside write_scope (workers/tasks).
 * A run may start when the task is open, ready, failed or needs_review (another round on the same branch); not
 * when it is cancelled, done, already running, blocked by dependencies, or has subtasks (its subtasks run instead).
 */
const STARTABLE = new Set(['open', 'ready', 'failed', 'needs_review']);

export const taskRunRoutes = () => [
  route({
    method: 'POST',
    path: '/api/tasks/:id/runs',
    family: 'tasks',
    summary: 'Start a task run: edits from the request (manual agent) or from the model; 202 with the queued run',
    // No body at all = `{}`: a model run.
    body: z.preprocess((v) => v ?? {}, StartRunBody),
    response: TaskRunSchema,
    status: 202,
    async handler(c) {
      const { project, task } = await requireTask(c.deps.sql, c.auth.userId, c.params.id!, PROJECT_WRITE);
      const services = c.deps.tasks;
      const snap = await services.board.snapshot(project);
      const derived = snap.statuses.get(task.id);
      if ((snap.children.get(task.id)?.length ?? 0) > 0) throw new AppError('CONFLICT', 'This task has subtasks; start runs on its subtasks instead');
      if (!derived || !STARTABLE.has(derived.status)) {
        throw new AppError('CONFLICT', `A run cannot start while the task is ${derived?.status ?? 'unknown'}`, { details: { status: derived?.status, reasons: derived?.reasons ?? [] } });
      }
      const agent = c.body.agent ?? (c.body.edits ? 'manual' : 'model');
      const input = {
        ...(c.body.edits ? { edits: c.body.edits } : {}),
        ...(c.body.instructions ? { instructions: c.body.instructions } : {}),
        ...(c.body.model ? { model: c.body.model } : {}),
      };
      const run = await c.deps.sql.begin(async (tx) => {
        if ((await lockProject(tx, project.id, [task.id])) === null) throw notFound('Task');
        await failLostRuns(tx, task.id);
        const live = await tx`SELECT id FROM task_runs WHERE task_id = ${task.id} AND status IN ('queued', 'running')`;
        if (live.length) throw new AppError('CONFLICT', 'A run of this task is already queued or running', { details: { run_id: live[0]!.id } });
        // The write_scope in force now is the run's, whatever PATCH does while it runs.
        return insertRun(tx, { taskId: task.id, agent, createdBy: c.auth.userId, writeScope: task.write_scope, input });
      });
      services.executor.start(run.id);
      return reply(202, runView(run));
    },
  }),
  route({
    method: 'GET',
    path: '/api/tasks/:id/runs',
    family: 'tasks',
    summary: 'Runs of a task, newest first',
    query: z.object(pageQuery(20, 100)),
    response: TaskRunListResponse,
    async handler(c) {
      const { task } = await requireTask(c.deps.sql, c.auth.userId, c.params.id!, PROJECT_READ);
      return { runs: (await listRuns(c.deps.sql, task.id, c.query.limit, c.query.offset)).map(runView) };
    },
  }),
  route({
    method: 'GET',
    path: '/api/tasks/:id/runs/:runId',
    family: 'tasks',
    summary: 'One run of a task: status, commit, committed and rejected files',
    response: TaskRunSchema,
    async handler(c) {
      const { task } = await requireTask(c.deps.sql, c.auth.userId, c.params.id!, PROJECT_READ);
      const run = await getRun(c.deps.sql, task.id, c.params.runId!);
      if (!run) throw notFound('Run');
      return runView(run);
    },
  }),
];
