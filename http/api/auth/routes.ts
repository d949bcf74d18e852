import { badRequest } from '../../../runtime/errors.ts';
import { clearSessionCookie, readCookie, SESSION_COOKIE } from '../../../runtime/auth/sessions.ts';
import { isReservedName } from '../../../runtime/identity/username.ts';
import { reply } from '../../reply.ts';
import { route, type AnyRoute } from '../../route.ts';
import { endWebSession } from '../auth-session/end-session.ts';
import { loadAccount } from '../me/queries.ts';
import { claimUsername } from '../me/username.ts';
import { AuthMeResponse, ProfileBody, SetupUsernameBody, SetupUsernameResponse, SuccessResponse } from './schemas.ts';

const USERNAME_RULE = /^[a-z0-9][a-z0-9_-]{2,29}$/;

/** Valid https URL with a host; anything else (http:, javascript:, data:) would end up in an <img src>. */
function isHttpsUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'https:' && u.hostname !== '' && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}

/** `/api/auth/*` (identity spec 2.5): the signed-in user's identity and profile, and logout. */
export function authRoutes(): AnyRoute[] {
  return [
    route({
      method: 'GET',
      path: '/api/auth/me',
      family: 'auth',
      summary: 'The signed-in user with linked sign-in identities',
      response: AuthMeResponse,
      async handler(c) {
        const u = await loadAccount(c.deps.sql, c.auth.userId);
        const ids = await c.deps.sql<{ provider: string; email_snapshot: string | null }[]>`
          SELECT provider, email_snapshot FROM auth_identities WHERE user_id = ${u.id} ORDER BY linked_at, id`;
        return {
          user: {
            email: u.email,
            username: u.slug,
            display_name: u.name,
            avatar_url: u.picture,
            auth_identities: ids.map((i) => ({ provider: i.provider, email: i.email_snapshot })),
          },
        };
      },
    }),
    route({
      method: 'POST',
      path: '/api/auth/setup-username',
      family: 'auth',
      summary: 'Set the username (lower-case rule of identity spec 2.5); does not complete setup',
      body: SetupUsernameBody,
      response: SetupUsernameResponse,
      async handler(c) {
        const name = c.body.username;
        if (!USERNAME_RULE.test(name)) throw badRequest('Username must be 3-30 characters, lowercase alphanumeric, underscores or hyphens');
        // Deviation: the original skipped the reserved-name list here, so `admin` or `api` could be taken through
        // this endpoint although /api/setup/complete refuses them.
        if (isReservedName(name)) throw badRequest('This username is reserved');
        await claimUsername(c.deps.sql, c.auth.userId, name, { takenMessage: 'Username already taken' });
        return { success: true as const, username: name };
      },
    }),
    route({
      method: 'PATCH',
      path: '/api/auth/profile',
      family: 'auth',
      summary: 'Update display name and/or avatar URL (https, or empty to remove)',
      body: ProfileBody,
      response: SuccessResponse,
      async handler(c) {
        const { display_name, avatar_url } = c.body;
        if (display_name === undefined && avatar_url === undefined) throw badRequest('No updates provided');
        if (avatar_url && !isHttpsUrl(avatar_url)) throw badRequest('Invalid avatar URL. Must be a valid HTTPS URL.');
        // An empty avatar_url removes the picture (stored as NULL, not as an empty string as in the original).
        const picture = avatar_url === undefined ? undefined : avatar_url === '' ? null : avatar_url;
        await c.deps.sql`
          UPDATE accounts SET
            name = COALESCE(${display_name ?? null}::text, name),
            picture = CASE WHEN ${picture !== undefined} THEN ${picture ?? null}::text ELSE picture END,
            updated_at = now()
          WHERE id = ${c.auth.userId}`;
        return { success: true as const };
      },
    }),
    route({
      method: 'POST',
      path: '/api/auth/logout',
      family: 'auth',
      summary: 'End the web session that authenticated this request (cookie or session bearer); always succeeds',
      auth: 'optional',
      response: SuccessResponse,
      async handler(c) {
        // The original deleted an `auth_sessions` row that nothing ever validated; here the caller's real web
        // session ends. A PAT caller has no session to end (delete the token to revoke it).
        if (c.auth?.via === 'session' && c.auth.sessionId) await endWebSession(c.deps, c.log, c.auth.sessionId);
        const hadCookie = readCookie(c.req.headers['cookie'], SESSION_COOKIE) !== undefined;
        return reply(200, { success: true }, hadCookie ? { 'Set-Cookie': clearSessionCookie() } : {});
      },
    }),
  ];
}
