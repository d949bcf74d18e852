import { AppError, badRequest } from '../../../runtime/errors.ts';
import { nowIso, toIso } from '../../../runtime/ids.ts';
import { reply } from '../../reply.ts';
import { route } from '../../route.ts';
import { ADMIN, atLeast } from '../spaces/access.ts';
import { requireThread } from './access.ts';
import { messagesWithRoles } from './queries.ts';
import { ExportQuery, type MessageRole } from './schemas.ts';
import type { MessageRow, ThreadRow } from './views.ts';

/**
 * `GET /api/threads/:id/export?format=markdown|md|json&include_internal=1` (spec 8.1): the thread as a file
 * download. system/tool messages only with include_internal=1 AND an owner/admin caller (others silently get the
 * public roles, like the original).
 *
 * PDF: the original renders HTML through a headless browser binding. This server answers `format=pdf` with
 * 400 "PDF export is not supported": a real PDF of mixed Japanese/English text needs an embedded CJK font and a
 * layout engine (a new dependency), and a PDF that garbles half the text would be worse than an honest refusal.
 */
const FORMATS = ['markdown', 'md', 'json'] as const;

/** ASCII-safe base of the file name (the original's rule), plus an RFC 5987 UTF-8 name for the real title. */
function disposition(thread: ThreadRow, ext: string): string {
  const safe = (thread.title ?? 'thread').replace(/[^a-zA-Z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 48) || 'thread';
  const full = `${(thread.title ?? 'thread').slice(0, 100)}-${thread.id}.${ext}`;
  return `attachment; filename="${safe}-${thread.id}.${ext}"; filename*=UTF-8''${encodeURIComponent(full)}`;
}

function markdown(thread: ThreadRow, messages: MessageRow[]): string {
  return [
    `# ${thread.title || 'Untitled Thread'}`,
    '',
    `- Thread ID: \`${thread.id}\``,
    `- Exported: \`${nowIso()}\``,
    '',
    '## Messages',
    '',
    ...messages.flatMap((m) => [`### #${m.sequence} [${m.role}] (${toIso(m.created_at)})`, '', m.content, '']),
  ].join('\n');
}

function json(thread: ThreadRow, messages: MessageRow[]): string {
  return JSON.stringify(
    {
      thread: { id: thread.id, title: thread.title, created_at: toIso(thread.created_at), updated_at: toIso(thread.updated_at) },
      exported_at: nowIso(),
      messages: messages.map((m) => ({ role: m.role, content: m.content, sequence: m.sequence, created_at: toIso(m.created_at) })),
    },
    null,
    2,
  );
}

export const exportRoutes = () => [
  route({
    method: 'GET',
    path: '/api/threads/:id/export',
    family: 'threads',
    summary: 'Download the thread as markdown or JSON',
    query: ExportQuery,
    async handler(c) {
      const format = (c.query.format ?? 'markdown').trim().toLowerCase();
      if (format === 'pdf') {
        throw new AppError('BAD_REQUEST', 'PDF export is not supported by this server; use format=markdown or format=json', { details: { supported: FORMATS } });
      }
      if (!(FORMATS as readonly string[]).includes(format)) throw badRequest('Invalid format. Supported: markdown, md, json', { supported: FORMATS });
      const { thread, role } = await requireThread(c.deps.sql, c.auth.userId, c.params.id!);
      // Deleted threads are readable through GET /api/threads/:id but not exportable (the original's rule).
      if (thread.status === 'deleted') throw new AppError('NOT_FOUND', 'Thread not found');
      const internal = c.query.include_internal === '1' && atLeast(role, ADMIN);
      const roles: MessageRole[] = internal ? ['user', 'assistant', 'system', 'tool'] : ['user', 'assistant'];
      const messages = await messagesWithRoles(c.deps.sql, thread.id, roles);
      const headers = { 'Cache-Control': 'no-store' };
      if (format === 'json') {
        return reply(200, json(thread, messages), { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Disposition': disposition(thread, 'json') });
      }
      return reply(200, markdown(thread, messages), { ...headers, 'Content-Type': 'text/markdown; charset=utf-8', 'Content-Disposition': disposition(thread, 'md') });
    },
  }),
];
