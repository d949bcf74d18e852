import { badRequest } from '../../../runtime/errors.ts';
import { toIso } from '../../../runtime/ids.ts';
import { route } from '../../route.ts';
import { ALL, requireSpace } from '../spaces/access.ts';
import { requireThread } from './access.ts';
import { MessageSearchResponse, SearchQuery, SpaceSearchResponse, type ThreadStatus } from './schemas.ts';

/**
 * Keyword search over message content (spec 8.1): a case-insensitive substring match, served by the trigram index
 * of migration 0005 (see there for why trigrams). `type=semantic` finds nothing here: this server has no embedding
 * index, which the response says with `semantic_available: false`; `type=all` is keyword search alone.
 */

const SNIPPET_RADIUS = 90;

/** ~90 characters either side of the first match, with ellipses, and the match offsets inside the snippet. */
export function snippet(content: string, query: string): { snippet: string; match: { start: number; end: number } | null } {
  // A case-insensitive regex on the original text, not indexOf on a lower-cased copy: lower-casing can change the
  // length of some characters and would shift the offsets.
  const m = new RegExp(query.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'iu').exec(content);
  if (!m) return { snippet: content.slice(0, 240), match: null };
  const idx = m.index;
  const len = m[0].length;
  const start = Math.max(0, idx - SNIPPET_RADIUS);
  const end = Math.min(content.length, idx + len + SNIPPET_RADIUS);
  const lead = start > 0 ? '\u2026' : '';
  const at = lead.length + (idx - start);
  return { snippet: lead + content.slice(start, end) + (end < content.length ? '\u2026' : ''), match: { start: at, end: at + len } };
}

/** LIKE pattern for a literal substring: the original passed `%`, `_` and `\` through as wildcards. */
const containsPattern = (q: string) => `%${q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;

function requireQ(q: string | undefined): string {
  const t = (q ?? '').trim();
  if (!t) throw badRequest('q is required');
  return t;
}

interface Hit {
  id: string;
  role: string;
  content: string;
  sequence: number;
  created_at: Date;
}

const messageRef = (m: Hit) => ({ id: m.id, sequence: m.sequence, role: m.role, created_at: toIso(m.created_at)! });

export const searchRoutes = () => [
  route({
    method: 'GET',
    path: '/api/spaces/:spaceId/threads/search',
    family: 'threads',
    summary: 'Search message content across the live threads of a space (newest first; limit default 20, max 100)',
    query: SearchQuery,
    response: SpaceSearchResponse,
    async handler(c) {
      const q = requireQ(c.query.q);
      const type = c.query.type ?? 'all';
      const { space } = await requireSpace(c.deps.sql, c.auth.userId, c.params.spaceId!, ALL);
      const rows =
        type === 'semantic'
          ? []
          : await c.deps.sql<(Hit & { thread_id: string; title: string | null; status: ThreadStatus; t_created: Date; t_updated: Date })[]>`
              SELECT m.id, m.role, m.content, m.sequence, m.created_at,
                     t.id AS thread_id, t.title, t.status, t.created_at AS t_created, t.updated_at AS t_updated
              FROM messages m JOIN threads t ON t.id = m.thread_id
              WHERE t.account_id = ${space.id} AND t.status <> 'deleted' AND m.content ILIKE ${containsPattern(q)}
              ORDER BY m.created_at DESC, m.id DESC
              LIMIT ${c.query.limit} OFFSET ${c.query.offset}`;
      return {
        query: q,
        type,
        results: rows.map((m) => ({
          kind: 'keyword' as const,
          thread: { id: m.thread_id, title: m.title, status: m.status, created_at: toIso(m.t_created)!, updated_at: toIso(m.t_updated)! },
          message: messageRef(m),
          ...snippet(m.content, q),
        })),
        limit: c.query.limit,
        offset: c.query.offset,
        semantic_available: false,
      };
    },
  }),
  route({
    method: 'GET',
    path: '/api/threads/:id/messages/search',
    family: 'threads',
    summary: 'Search the messages of one thread (sequence order; limit default 20, max 100)',
    query: SearchQuery,
    response: MessageSearchResponse,
    async handler(c) {
      const q = requireQ(c.query.q);
      const type = c.query.type ?? 'all';
      const { thread } = await requireThread(c.deps.sql, c.auth.userId, c.params.id!);
      const rows =
        type === 'semantic'
          ? []
          : await c.deps.sql<Hit[]>`
              SELECT id, role, content, sequence, created_at FROM messages
              WHERE thread_id = ${thread.id} AND content ILIKE ${containsPattern(q)}
              ORDER BY sequence LIMIT ${c.query.limit} OFFSET ${c.query.offset}`;
      return {
        query: q,
        type,
        results: rows.map((m) => ({ kind: 'keyword' as const, message: messageRef(m), ...snippet(m.content, q) })),
        limit: c.query.limit,
        offset: c.query.offset,
        semantic_available: false,
      };
    },
  }),
];
