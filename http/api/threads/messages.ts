import { badRequest } from '../../../runtime/errors.ts';
import { created } from '../../reply.ts';
import { route } from '../../route.ts';
import { EDITOR_PLUS } from '../spaces/access.ts';
import { requireThread } from './access.ts';
import { historyRuns, HistoryResponse } from './history.ts';
import { appendMessage, listMessages } from './queries.ts';
import { timelineRunState } from './runs-view.ts';
import { CreateMessageBody, HistoryQuery, MessageResponse, MessagesQuery, MessagesResponse } from './schemas.ts';
import { messageView } from './views.ts';

/** The message timeline, posting a message, and the run history of a thread (spec 8.2). */
export const messageRoutes = () => [
  route({
    method: 'GET',
    path: '/api/threads/:id/messages',
    family: 'threads',
    summary: 'Messages in sequence order (limit default 100, max 200; offset), with the active run',
    query: MessagesQuery,
    response: MessagesResponse,
    async handler(c) {
      const { thread } = await requireThread(c.deps.sql, c.auth.userId, c.params.id!);
      const [page, runs] = await Promise.all([
        listMessages(c.deps.sql, thread.id, c.query.limit, c.query.offset),
        timelineRunState(c.deps.sql, c.log, thread.id),
      ]);
      return { messages: page.rows.map(messageView), total: page.total, limit: c.query.limit, offset: c.query.offset, ...runs };
    },
  }),
  route({
    method: 'POST',
    path: '/api/threads/:id/messages',
    family: 'threads',
    summary: 'Append a message (any role); content is required unless metadata.attachments is non-empty',
    body: CreateMessageBody,
    response: MessageResponse,
    status: 201,
    async handler(c) {
      const { thread } = await requireThread(c.deps.sql, c.auth.userId, c.params.id!, EDITOR_PLUS);
      const content = c.body.content ?? '';
      const attachments = c.body.metadata?.attachments;
      if (content === '' && !(Array.isArray(attachments) && attachments.length > 0)) throw badRequest('Content is required');
      const row = await c.deps.sql.begin((tx) =>
        appendMessage(tx, thread.id, {
          role: c.body.role,
          content,
          tool_calls: c.body.tool_calls ?? null,
          tool_call_id: c.body.tool_call_id ?? null,
          metadata: c.body.metadata ?? {},
        }),
      );
      return created({ message: messageView(row) });
    },
  }),
  route({
    method: 'GET',
    path: '/api/threads/:id/history',
    family: 'threads',
    summary: 'Messages plus the runs of the thread tree with their events, artifacts and child runs',
    query: HistoryQuery,
    response: HistoryResponse,
    async handler(c) {
      const { thread } = await requireThread(c.deps.sql, c.auth.userId, c.params.id!);
      const includeMessages = c.query.include_messages !== '0';
      const rootRunId = c.query.root_run_id?.trim() || null;
      const [page, runs] = await Promise.all([
        includeMessages ? listMessages(c.deps.sql, thread.id, c.query.limit, c.query.offset) : { rows: [], total: 0 },
        historyRuns(c.deps.sql, c.log, thread.id, rootRunId),
      ]);
      return { messages: page.rows.map(messageView), total: page.total, limit: c.query.limit, offset: c.query.offset, ...runs };
    },
  }),
];
