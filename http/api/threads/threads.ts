import { AppError, badRequest } from '../../../runtime/errors.ts';
import { created } from '../../reply.ts';
import { route } from '../../route.ts';
import { ADMIN, ALL, atLeast, EDITOR_PLUS, requireSpace } from '../spaces/access.ts';
import { requireThread } from './access.ts';
import { insertThread, listThreads, updateThread, type ThreadPatch } from './queries.ts';
import {
  CreateThreadBody,
  PatchThreadBody,
  SuccessResponse,
  ThreadListQuery,
  ThreadListResponse,
  ThreadResponse,
  ThreadWithRoleResponse,
  type ThreadStatus,
} from './schemas.ts';
import { threadView } from './views.ts';

/** Thread CRUD (spec 8.1). Reads: any member; writes: editor+; delete: admin+. */
export const threadRoutes = () => [
  route({
    method: 'GET',
    path: '/api/spaces/:spaceId/threads',
    family: 'threads',
    summary: 'List the threads of a space (newest activity first; deleted ones only with status=deleted)',
    query: ThreadListQuery,
    response: ThreadListResponse,
    async handler(c) {
      const { space } = await requireSpace(c.deps.sql, c.auth.userId, c.params.spaceId!, ALL);
      const { rows, total } = await listThreads(c.deps.sql, space.id, c.query);
      return { threads: rows.map(threadView), total, limit: c.query.limit, offset: c.query.offset };
    },
  }),
  route({
    method: 'POST',
    path: '/api/spaces/:spaceId/threads',
    family: 'threads',
    summary: 'Create a thread',
    body: CreateThreadBody,
    response: ThreadResponse,
    status: 201,
    async handler(c) {
      const { space } = await requireSpace(c.deps.sql, c.auth.userId, c.params.spaceId!, EDITOR_PLUS);
      const row = await insertThread(c.deps.sql, space.id, { title: c.body.title ?? null, locale: c.body.locale ?? null });
      return created({ thread: threadView(row) });
    },
  }),
  route({
    method: 'GET',
    path: '/api/threads/:id',
    family: 'threads',
    summary: "A thread and the caller's role in its space (soft-deleted threads stay readable)",
    response: ThreadWithRoleResponse,
    async handler(c) {
      const { thread, role } = await requireThread(c.deps.sql, c.auth.userId, c.params.id!);
      return { thread: threadView(thread), role };
    },
  }),
  route({
    method: 'PATCH',
    path: '/api/threads/:id',
    family: 'threads',
    summary: 'Update title, locale, status or context_window',
    body: PatchThreadBody,
    response: ThreadResponse,
    async handler(c) {
      const { thread, role } = await requireThread(c.deps.sql, c.auth.userId, c.params.id!, EDITOR_PLUS);
      const patch: ThreadPatch = {};
      if (c.body.title !== undefined) patch.title = c.body.title;
      if (c.body.locale !== undefined) patch.locale = c.body.locale;
      if (c.body.status !== undefined) patch.status = c.body.status;
      if (c.body.context_window !== undefined) patch.context_window = c.body.context_window;
      if (Object.keys(patch).length === 0) throw badRequest('No valid updates provided');
      // Deviation: the original lets an editor PATCH status to/from 'deleted', which bypasses DELETE being admin-only.
      // Moving a thread into or out of 'deleted' needs the same role as DELETE.
      const touchesDeleted = patch.status !== undefined && patch.status !== thread.status && (patch.status === 'deleted' || thread.status === 'deleted');
      if (touchesDeleted && !atLeast(role, ADMIN)) throw new AppError('FORBIDDEN', 'Only space owners and admins can delete or restore a thread');
      const row = await updateThread(c.deps.sql, thread.id, patch);
      if (!row) throw new AppError('NOT_FOUND', 'Thread not found');
      return { thread: threadView(row) };
    },
  }),
  route({
    method: 'DELETE',
    path: '/api/threads/:id',
    family: 'threads',
    summary: 'Soft-delete a thread (status=deleted)',
    response: SuccessResponse,
    async handler(c) {
      const { thread } = await requireThread(c.deps.sql, c.auth.userId, c.params.id!, ADMIN);
      await updateThread(c.deps.sql, thread.id, { status: 'deleted' });
      return { success: true as const };
    },
  }),
  statusRoute('archive', 'archived', 'Archive a thread'),
  statusRoute('unarchive', 'active', 'Unarchive a thread'),
];

function statusRoute(action: string, status: ThreadStatus, summary: string) {
  return route({
    method: 'POST',
    path: `/api/threads/:id/${action}`,
    family: 'threads',
    summary,
    response: SuccessResponse,
    async handler(c) {
      const { thread } = await requireThread(c.deps.sql, c.auth.userId, c.params.id!, EDITOR_PLUS);
      // Deviation: the original's unarchive also revives a deleted thread (an editor undoing an admin's delete).
      // Archive state changes apply to live threads only; restoring is PATCH status=active by an admin.
      if (thread.status === 'deleted') throw new AppError('CONFLICT', 'Thread is deleted');
      await updateThread(c.deps.sql, thread.id, { status });
      return { success: true as const };
    },
  });
}
