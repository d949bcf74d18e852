import { createPat } from '../../../runtime/identity/users.ts';
import { notFound } from '../../../runtime/errors.ts';
import { toIso } from '../../../runtime/ids.ts';
import { created } from '../../reply.ts';
import { route, type AnyRoute } from '../../route.ts';
import { CreatedPatResponse, CreatePatBody, ListPatsResponse, SuccessResponse } from './pat-schemas.ts';

/**
 * Personal access tokens of the signed-in user (spec 2.2). Tokens are stored as SHA-256 only; the plaintext is in
 * the creation answer and nowhere else.
 */
export function patRoutes(): AnyRoute[] {
  return [
    route({
      method: 'GET',
      path: '/api/me/personal-access-tokens',
      family: 'me',
      summary: 'List your personal access tokens, newest first (no secrets)',
      response: ListPatsResponse,
      async handler(c) {
        // last_used_at is written in batches; flush this process's pending uses so the caller sees its own recent use.
        // Uses still pending on other processes appear after their next flush (PAT_TOUCH_FLUSH_MS).
        await c.deps.patToucher.flush();
        const rows = await c.deps.sql<{ id: string; name: string; token_prefix: string; scopes: string; expires_at: Date | null; last_used_at: Date | null; created_at: Date }[]>`
          SELECT id, name, token_prefix, scopes, expires_at, last_used_at, created_at
          FROM personal_access_tokens WHERE account_id = ${c.auth.userId}
          ORDER BY created_at DESC, id DESC`;
        return {
          tokens: rows.map((r) => ({
            id: r.id,
            name: r.name,
            token_prefix: r.token_prefix,
            scopes: r.scopes,
            expires_at: toIso(r.expires_at),
            last_used_at: toIso(r.last_used_at),
            created_at: toIso(r.created_at)!,
          })),
        };
      },
    }),
    route({
      method: 'POST',
      path: '/api/me/personal-access-tokens',
      family: 'me',
      summary: 'Create a personal access token (the token is shown once)',
      body: CreatePatBody,
      response: CreatedPatResponse,
      status: 201,
      async handler(c) {
        const pat = await createPat(c.deps.sql, c.auth.userId, c.body.name, c.body.scopes ?? '*', c.body.expiresAt ?? null);
        return created({
          id: pat.id,
          name: pat.name,
          token: pat.token,
          token_prefix: pat.token_prefix,
          scopes: pat.scopes,
          expires_at: toIso(pat.expires_at),
          created_at: toIso(pat.created_at)!,
        });
      },
    }),
    route({
      method: 'DELETE',
      path: '/api/me/personal-access-tokens/:id',
      family: 'me',
      summary: 'Delete one of your personal access tokens; it stops working at once on every process',
      response: SuccessResponse,
      async handler(c) {
        const [row] = await c.deps.sql<{ token_hash: string }[]>`
          DELETE FROM personal_access_tokens WHERE id = ${c.params['id']!} AND account_id = ${c.auth.userId}
          RETURNING token_hash`;
        if (!row) throw notFound('Token');
        // After the commit, so no process can re-cache the token from a read that still saw the row.
        try {
          await c.deps.invalidateAuth({ t: 'key', key: `pat:${row.token_hash}` });
        } catch (err) {
          // The row is gone and this process forgot the token. Other processes clear their whole cache when their
          // Redis subscriber reconnects, and entries expire after AUTH_CACHE_TTL_MS at the latest.
          c.log.error({ err }, 'could not publish PAT invalidation');
        }
        return { success: true as const };
      },
    }),
  ];
}
