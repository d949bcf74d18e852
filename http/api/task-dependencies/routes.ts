import { z } from 'zod';
import { AppError, notFound, validationError } from '../../../runtime/errors.ts';
import { dependencyWouldCycle } from '../../../runtime/tasks/graph.ts';
import { created, noContent } from '../../reply.ts';
import { route } from '../../route.ts';
import { PROJECT_WRITE } from '../projects/access.ts';
import { lockProject } from '../projects/queries.ts';
import { requireTask } from '../tasks/access.ts';
import { TaskDetail } from '../tasks/schemas.ts';
import { taskDetailView } from '../tasks/views.ts';

const AddDependencyBody = z.object({
  depends_on_task_id: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'must be a task id'),
});

/**
 * Task dependencies (seed "Task Dependencies"). Adding one locks the project row first, then checks project,
 * duplicate and cycle inside the same transaction (graph.ts), so of two concurrent requests that would each close
 * a cycle, the second waits for the first and sees its edge.
 */
export const taskDependencyRoutes = () => [
  route({
    method: 'POST',
    path: '/api/tasks/:id/dependencies',
    family: 'task-dependencies',
    summary: 'Add a dependency (same project, acyclic; 409 when it already exists); answers the updated task',
    body: AddDependencyBody,
    response: TaskDetail,
    status: 201,
    async handler(c) {
      const { project, task } = await requireTask(c.deps.sql, c.auth.userId, c.params.id!, PROJECT_WRITE);
      const dep = c.body.depends_on_task_id;
      const invalid = (message: string) => validationError([{ in: 'body', path: 'depends_on_task_id', message }], message);
      const version = await c.deps.sql.begin(async (tx) => {
        const version = await lockProject(tx, project.id, [task.id]);
        if (version === null) throw notFound('Task');
        const [other] = await tx<{ project_id: string }[]>`SELECT project_id FROM tasks WHERE id = ${dep}`;
        if (!other || other.project_id !== project.id) throw invalid('depends_on_task_id must be a task of the same project');
        const [dup] = await tx`SELECT 1 FROM task_dependencies WHERE task_id = ${task.id} AND depends_on_task_id = ${dep}`;
        if (dup) throw new AppError('CONFLICT', 'This dependency already exists');
        if (await dependencyWouldCycle(tx, task.id, dep)) {
          throw invalid(dep === task.id ? 'a task cannot depend on itself' : 'this dependency would create a cycle (directly, or through parent and subtask relations)');
        }
        await tx`INSERT INTO task_dependencies (task_id, depends_on_task_id) VALUES (${task.id}, ${dep})`;
        return version;
      });
      const snap = await c.deps.tasks.board.snapshot({ ...project, version });
      return created(taskDetailView(snap, task.id));
    },
  }),
  route({
    method: 'DELETE',
    path: '/api/tasks/:id/dependencies/:dependsOnId',
    family: 'task-dependencies',
    summary: 'Remove a dependency (204; 404 when there is no such dependency)',
    async handler(c) {
      const { project, task } = await requireTask(c.deps.sql, c.auth.userId, c.params.id!, PROJECT_WRITE);
      await c.deps.sql.begin(async (tx) => {
        if ((await lockProject(tx, project.id, [task.id])) === null) throw notFound('Task');
        const rows = await tx`DELETE FROM task_dependencies WHERE task_id = ${task.id} AND depends_on_task_id = ${c.params.dependsOnId!} RETURNING task_id`;
        if (rows.length === 0) throw notFound('Dependency');
      });
      return noContent();
    },
  }),
];
