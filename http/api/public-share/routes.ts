import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AppError, badRequest } from '../../../runtime/errors.ts';
import { toIso } from '../../../runtime/ids.ts';
import { pageQuery } from '../../pagination.ts';
import { route, type Ctx } from '../../route.ts';
import { verifySharePassword } from '../threads/share-password.ts';
import { findLiveShare, sharedMessages, SHARE_TOKEN, ShareModeSchema, touchShare, type LiveShare } from '../threads/share-store.ts';
import { enforce } from './rate-limit.ts';

/**
 * Public, unauthenticated reads of a shared thread (identity spec 5, ref 8.3). Unknown, revoked and expired tokens
 * and deleted threads all answer the same 404, so a token's history is not revealed. Only user/assistant messages.
 *
 * Limits (Redis, shared by every process; keyed by a hash of the token so raw tokens never sit in Redis):
 * - POST .../access: 5 calls per 60 s per token, every call counted (successes too), checked before the password
 *   (spec). It bounds password guessing per share whatever the number of attackers' addresses.
 * - GET: 60 per 60 s per token and client address. Not in the original; it stops one client from hammering a link
 *   without letting anyone lock a popular public link for everybody else.
 *
 * Messages are paged (`limit` default and max 1000, `offset`; `total` in the answer): the original returned every
 * message of the thread in one body.
 */
const ACCESS_LIMIT = 5;
const READ_LIMIT = 60;
const WINDOW_MS = 60_000;

const notFound = () => new AppError('NOT_FOUND', 'Resource not found');

const PageQuery = z.object(pageQuery(1000, 1000));
// An empty body is allowed: a public share opens through /access without one.
const AccessBody = z.object({ password: z.string().max(1024).optional() }).optional();

const SharedPayload = z.object({
  share: z.object({ mode: ShareModeSchema, expires_at: z.string().nullable(), created_at: z.string() }),
  token: z.string(),
  thread: z.object({ id: z.string(), title: z.string().nullable(), created_at: z.string(), updated_at: z.string() }),
  messages: z.array(z.object({ id: z.string(), role: z.enum(['user', 'assistant']), content: z.string(), sequence: z.number().int(), created_at: z.string() })),
  total: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
});

function tokenParam(c: Ctx<unknown, unknown>): string {
  const token = c.params.token!;
  if (!SHARE_TOKEN.test(token)) throw badRequest('Invalid route parameter: token');
  return token;
}

export const tokenKey = (token: string) => createHash('sha256').update(token).digest('base64url').slice(0, 22);

async function payload(c: Ctx<unknown, { limit: number; offset: number }>, share: LiveShare): Promise<z.infer<typeof SharedPayload>> {
  const [page] = await Promise.all([sharedMessages(c.deps.sql, share.thread_id, c.query.limit, c.query.offset), touchShare(c.deps.sql, share.id)]);
  return {
    share: { mode: share.mode, expires_at: toIso(share.expires_at), created_at: toIso(share.created_at)! },
    token: share.token,
    thread: { id: share.thread_id, title: share.thread_title, created_at: toIso(share.thread_created_at)!, updated_at: toIso(share.thread_updated_at)! },
    messages: page.rows.map((m) => ({ id: m.id, role: m.role, content: m.content, sequence: m.sequence, created_at: toIso(m.created_at)! })),
    total: page.total,
    limit: c.query.limit,
    offset: c.query.offset,
  };
}

export const publicShareRoutes = () => [
  route({
    method: 'GET',
    path: '/api/public/thread-shares/:token',
    family: 'public-share',
    summary: 'Read a shared thread (public shares; password shares answer 401 and use POST .../access)',
    auth: 'none',
    query: PageQuery,
    response: SharedPayload,
    async handler(c) {
      const token = tokenParam(c);
      await enforce(c.deps.redis.cmd, c.deps.keys.rateLimit('share-read', `${tokenKey(token)}:${c.req.ip}`), READ_LIMIT, WINDOW_MS);
      const share = await findLiveShare(c.deps.sql, token);
      if (!share) throw notFound();
      if (share.mode === 'password') throw new AppError('UNAUTHORIZED', 'Password required');
      return payload(c, share);
    },
  }),
  route({
    method: 'POST',
    path: '/api/public/thread-shares/:token/access',
    family: 'public-share',
    summary: 'Open a shared thread with its password (5 attempts per minute per share)',
    auth: 'none',
    body: AccessBody,
    query: PageQuery,
    response: SharedPayload,
    async handler(c) {
      const token = tokenParam(c);
      await enforce(c.deps.redis.cmd, c.deps.keys.rateLimit('share-access', tokenKey(token)), ACCESS_LIMIT, WINDOW_MS);
      const share = await findLiveShare(c.deps.sql, token);
      if (!share) throw notFound();
      if (share.mode === 'password') {
        const pw = (c.body?.password ?? '').trim();
        if (!pw) throw new AppError('UNAUTHORIZED', 'Password required');
        if (!share.password_hash || !(await verifySharePassword(pw, share.password_hash))) throw new AppError('FORBIDDEN', 'Invalid password');
      }
      return payload(c, share);
    },
  }),
];
