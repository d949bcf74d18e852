import { z } from 'zod';
import { AppError, conflict, notFound, validationError } from '../../../runtime/errors.ts';
import { newTaskWouldCycle } from '../../../runtime/tasks/graph.ts';
import { created, reply } from '../../reply.ts';
import { route } from '../../route.ts';
import { PROJECT_READ, PROJECT_WRITE, requireProject } from '../projects/access.ts';
import { lockProject } from '../projects/queries.ts';
import { renderTaskList } from './list-render.ts';
import { cancelTasks, insertTask, taskProjects, updateTask } from './queries.ts';
import { CreateTaskBody, PatchTaskBody, TaskDetail, TaskListQuery, TaskListResponse } from './schemas.ts';
import { taskDetailView } from './views.ts';
import { requireTask } from './access.ts';

const JSON_TYPE = { 'Content-Type': 'application/json; charset=utf-8' };

/**
 * Tasks (seed "Tasks"). Reads need any role in the project's space, writes editor+. Every write locks the project
 * row (lockProject) so cycle checks are serialised per project and the board cache sees a new version.
 */
export const taskRoutes = () => [
  route({
    method: 'GET',
    path: '/api/projects/:projectId/tasks',
    family: 'tasks',
    summary: 'List tasks with derived status (filters: status, parent_id (null = top level), include_children)',
    query: TaskListQuery,
    response: TaskListResponse,
    async handler(c) {
      const { project } = await requireProject(c.deps.sql, c.auth.userId, c.params.projectId!, PROJECT_READ);
      const snap = await c.deps.tasks.board.snapshot(project);
      const parent = c.query.parent_id;
      const body = renderTaskList(snap, { status: c.query.status, parentId: parent === 'null' ? null : parent, includeChildren: c.query.include_children });
      return reply(200, body, JSON_TYPE);
    },
  }),
  route({
    method: 'POST',
    path: '/api/projects/:projectId/tasks',
    family: 'tasks',
    summary: 'Create a task (write_scope globs, optional parent and dependencies in the same project, no cycles)',
    body: CreateTaskBody,
    response: TaskDetail,
    status: 201,
    async handler(c) {
      const { project } = await requireProject(c.deps.sql, c.auth.userId, c.params.projectId!, PROJECT_WRITE);
      const dependsOn = [...new Set(c.body.depends_on ?? [])];
      const parentId = c.body.parent_id ?? null;
      const { row, version } = await c.deps.sql.begin(async (tx) => {
        const version = await lockProject(tx, project.id);
        if (version === null) throw notFound('Project');
        const known = await taskProjects(tx, [...dependsOn, ...(parentId ? [parentId] : [])]);
        const problems: Array<{ in: 'body'; path: string; message: string }> = [];
        if (parentId !== null && known.get(parentId)?.projectId !== project.id) {
          problems.push({ in: 'body', path: 'parent_id', message: 'parent_id must be a task of the same project' });
        }
        dependsOn.forEach((d, i) => {
          if (known.get(d)?.projectId !== project.id) problems.push({ in: 'body', path: `depends_on.${i}`, message: `depends_on ${d} is not a task of the same project` });
        });
        if (problems.length) throw validationError(problems, problems[0]!.message);
        if (parentId !== null && known.get(parentId)?.cancelled) throw conflict('The parent task is cancelled');
        if (await newTaskWouldCycle(tx, parentId, dependsOn)) {
          const message = 'depends_on would create a dependency cycle: a subtask cannot wait for its parent, or for a task that waits for its parent';
          throw validationError([{ in: 'body', path: 'depends_on', message }], message);
        }
        const row = await insertTask(tx, {
          projectId: project.id, parentId, title: c.body.title, description: c.body.description ?? '', writeScope: c.body.write_scope,
          createdBy: c.auth.userId, dependsOn,
        });
        return { row, version };
      });
      const snap = await c.deps.tasks.board.snapshot({ ...project, version });
      return created(taskDetailView(snap, row.id));
    },
  }),
  route({
    method: 'GET',
    path: '/api/tasks/:id',
    family: 'tasks',
    summary: 'Task detail: derived status and reasons, dependencies with their status, latest run',
    response: TaskDetail,
    async handler(c) {
      const { project, task } = await requireTask(c.deps.sql, c.auth.userId, c.params.id!, PROJECT_READ);
      const snap = await c.deps.tasks.board.snapshot(project);
      if (!snap.byId.has(task.id)) throw notFound('Task');
      return taskDetailView(snap, task.id);
    },
  }),
  route({
    method: 'PATCH',
    path: '/api/tasks/:id',
    family: 'tasks',
    summary: 'Update title, description or write_scope (a write_scope change applies from the next run)',
    body: PatchTaskBody,
    response: TaskDetail,
    async handler(c) {
      const { project, task } = await requireTask(c.deps.sql, c.auth.userId, c.params.id!, PROJECT_WRITE);
      const version = await c.deps.sql.begin(async (tx) => {
        const version = await lockProject(tx, project.id, [task.id]);
        if (version === null) throw notFound('Task');
        // A running run keeps the write_scope it started with (task_runs.write_scope).
        const row = await updateTask(tx, task.id, {
          ...(c.body.title !== undefined ? { title: c.body.title } : {}),
          ...(c.body.description !== undefined ? { description: c.body.description } : {}),
          ...(c.body.write_scope !== undefined ? { writeScope: c.body.write_scope } : {}),
        });
        if (!row) throw notFound('Task');
        return version;
      });
      const snap = await c.deps.tasks.board.snapshot({ ...project, version });
      return taskDetailView(snap, task.id);
    },
  }),
  route({
    method: 'POST',
    path: '/api/tasks/:id/cancel',
    family: 'tasks',
    summary: 'Cancel a task (and its unfinished subtasks) and stop their running runs; 409 when already done or cancelled',
    body: z.object({}).passthrough().optional(),
    response: TaskDetail,
    async handler(c) {
      const { project, task } = await requireTask(c.deps.sql, c.auth.userId, c.params.id!, PROJECT_WRITE);
      const services = c.deps.tasks;
      const before = await services.board.snapshot(project);
      const status = before.statuses.get(task.id)?.status;
      if (status === 'done' || status === 'cancelled') throw new AppError('CONFLICT', `Task is already ${status}`, { details: { status } });
      // Subtasks that are not finished are cancelled with it (a cancelled parent has no work left to summarise).
      const subtree: string[] = [];
      const stack = [...(before.children.get(task.id) ?? [])];
      while (stack.length) {
        const id = stack.pop()!;
        const s = before.statuses.get(id)?.status;
        if (s !== 'done' && s !== 'cancelled') subtree.push(id);
        stack.push(...(before.children.get(id) ?? []));
      }
      const { version, runIds } = await c.deps.sql.begin(async (tx) => {
        const version = await lockProject(tx, project.id, [task.id, ...subtree]);
        if (version === null) throw notFound('Task');
        const mine = await tx`UPDATE tasks SET cancelled_at = now(), updated_at = now() WHERE id = ${task.id} AND cancelled_at IS NULL RETURNING id`;
        if (mine.length === 0) throw new AppError('CONFLICT', 'Task is already cancelled', { details: { status: 'cancelled' } });
        return { version, runIds: await cancelTasks(tx, [task.id, ...subtree]) };
      });
      services.executor.cancel(runIds);
      const snap = await services.board.snapshot({ ...project, version });
      return taskDetailView(snap, task.id);
    },
  }),
];
