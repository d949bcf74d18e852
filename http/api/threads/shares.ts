import { z } from 'zod';
import { AppError, badRequest, notFound } from '../../../runtime/errors.ts';
import { created } from '../../reply.ts';
import { route, type Ctx } from '../../route.ts';
import { EDITOR_PLUS } from '../spaces/access.ts';
import { requireThread } from './access.ts';
import { hashSharePassword } from './share-password.ts';
import { insertShare, listShares, revokeShare, ShareModeSchema, ShareSchema, shareView, UUID, type ShareRow } from './share-store.ts';
import { SuccessResponse } from './schemas.ts';

/** Creating, listing and revoking public links to a thread (spec 8.3). */

const DAY_MS = 24 * 60 * 60 * 1000;

const CreateShareBody = z.object({
  mode: ShareModeSchema.optional(),
  password: z.string().max(1024).optional(),
  expires_at: z.string().max(64).optional(),
  expires_in_days: z.number().optional(),
});

const ShareWithLinks = ShareSchema.extend({ share_path: z.string(), share_url: z.string() });
const CreateShareResponse = z.object({ share: ShareSchema, share_path: z.string(), share_url: z.string(), password_required: z.boolean() });

/**
 * Base of share links. PUBLIC_URL when configured; otherwise the request's own origin like the original (Host, and
 * X-Forwarded-Proto only behind a trusted proxy). Set PUBLIC_URL in production: a Host header is caller-controlled.
 */
function origin(c: Ctx<unknown, unknown>): string {
  if (c.deps.config.PUBLIC_URL) return c.deps.config.publicUrl;
  const proto = c.deps.config.TRUST_PROXY && c.req.headers['x-forwarded-proto'] === 'https' ? 'https' : 'http';
  const host = c.req.headers['host'];
  return host && /^[A-Za-z0-9.:[\]-]+$/.test(host) ? `${proto}://${host}` : c.deps.config.publicUrl;
}

const links = (c: Ctx<unknown, unknown>, s: ShareRow) => {
  const share_path = `/share/${s.token}`;
  return { share_path, share_url: origin(c) + share_path };
};

function expiry(body: z.infer<typeof CreateShareBody>): Date | null {
  // expires_at wins over expires_in_days (spec 8.3).
  if (body.expires_at !== undefined) {
    const t = Date.parse(body.expires_at);
    if (Number.isNaN(t)) throw badRequest('Invalid expires_at');
    if (t <= Date.now()) throw badRequest('expires_at must be in the future');
    return new Date(t);
  }
  if (body.expires_in_days !== undefined) {
    const d = body.expires_in_days;
    if (!Number.isFinite(d) || d <= 0 || d > 365) throw badRequest('expires_in_days must be between 1 and 365');
    return new Date(Date.now() + d * DAY_MS);
  }
  return null;
}

export const shareRoutes = () => [
  route({
    method: 'POST',
    path: '/api/threads/:id/share',
    family: 'threads',
    summary: 'Create a public or password-protected link to the thread, optionally expiring',
    body: CreateShareBody,
    response: CreateShareResponse,
    status: 201,
    async handler(c) {
      const { thread } = await requireThread(c.deps.sql, c.auth.userId, c.params.id!, EDITOR_PLUS);
      if (thread.status === 'deleted') throw new AppError('CONFLICT', 'Thread is deleted');
      // Deviation: the original turns any mode other than "password" (a typo, or no mode with a password given)
      // into a PUBLIC link. Here mode is public|password (else 422), a password without a mode means password
      // mode, and a password with mode=public is refused rather than silently dropped.
      const mode = c.body.mode ?? (c.body.password !== undefined ? 'password' : 'public');
      if (mode === 'public' && c.body.password !== undefined) throw badRequest('password is only used with mode "password"');
      const expiresAt = expiry(c.body);
      let passwordHash: string | null = null;
      if (mode === 'password') {
        // Trimmed like the original, so a password typed with a stray space still opens the share.
        const pw = (c.body.password ?? '').trim();
        if (pw.length < 8) throw badRequest('Password is required (min 8 characters)');
        passwordHash = await hashSharePassword(pw);
      }
      const row = await insertShare(c.deps.sql, { threadId: thread.id, spaceId: thread.account_id, createdBy: c.auth.userId, mode, passwordHash, expiresAt });
      return created({ share: shareView(row), ...links(c, row), password_required: mode === 'password' });
    },
  }),
  route({
    method: 'GET',
    path: '/api/threads/:id/shares',
    family: 'threads',
    summary: 'Shares of the thread, newest first, revoked ones included',
    response: z.object({ shares: z.array(ShareWithLinks) }),
    async handler(c) {
      const { thread } = await requireThread(c.deps.sql, c.auth.userId, c.params.id!);
      const rows = await listShares(c.deps.sql, thread.id);
      return { shares: rows.map((r) => ({ ...shareView(r), ...links(c, r) })) };
    },
  }),
  route({
    method: 'POST',
    path: '/api/threads/:id/shares/:shareId/revoke',
    family: 'threads',
    summary: 'Revoke a share (404 when unknown or already revoked)',
    response: SuccessResponse,
    async handler(c) {
      const shareId = c.params.shareId!;
      if (!UUID.test(shareId)) throw badRequest('Invalid route parameter: shareId');
      const { thread } = await requireThread(c.deps.sql, c.auth.userId, c.params.id!, EDITOR_PLUS);
      if (!(await revokeShare(c.deps.sql, thread.id, shareId))) throw notFound('Share');
      return { success: true as const };
    },
  }),
];
