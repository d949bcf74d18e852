import { authenticate } from '../../../runtime/auth/authenticate.ts';
import { PAT_PREFIX } from '../../../runtime/auth/pat.ts';
import { clearSessionCookie, readCookie, SESSION_COOKIE, sessionCookie } from '../../../runtime/auth/sessions.ts';
import { AppError } from '../../../runtime/errors.ts';
import { toIso } from '../../../runtime/ids.ts';
import { redirect, reply } from '../../reply.ts';
import { route, type AnyRoute } from '../../route.ts';
import { loadAccount } from '../me/queries.ts';
import { endWebSession } from './end-session.ts';
import { SignInBody, SignInResponse, SignOutResponse } from './schemas.ts';

const FAMILY = 'auth (server-side)';
const bearerError = (message: string) =>
  new AppError('UNAUTHORIZED', message, { headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });

/**
 * Local sign-in for self-hosting. The original signs in through Google only (and in its node mode cookie sessions
 * never resolved); here a personal access token is exchanged for a web session cookie, so a browser can use the API
 * with the same HttpOnly cookie the original's web app expects.
 */
export function authSessionRoutes(): AnyRoute[] {
  return [
    route({
      method: 'POST',
      path: '/auth/session',
      family: FAMILY,
      summary: 'Sign in: exchange a personal access token ({token} or Bearer) for a web session cookie',
      auth: 'none',
      body: SignInBody,
      response: SignInResponse,
      status: 201,
      async handler(c) {
        const fromHeader = /^Bearer\s+(\S+)\s*$/i.exec(c.req.headers['authorization'] ?? '')?.[1];
        const token = c.body?.token ?? fromHeader;
        if (!token) throw new AppError('UNAUTHORIZED', 'Authentication required');
        // Only PATs: a session id would just clone a session, and a service token must not become a long-lived login.
        if (!token.startsWith(PAT_PREFIX)) throw bearerError('A personal access token (tak_pat_...) is required to sign in');
        const a = await authenticate(c.deps, { authorization: `Bearer ${token}` });
        if (a.kind !== 'ok') throw bearerError('Invalid or expired personal access token');
        // A session carries full access ('*') and bypasses scope checks, so a scoped token must not mint one.
        if (a.principal.scopes !== '*') throw new AppError('FORBIDDEN', 'Only a full-access token (scopes "*") can start a web session');
        const user = await loadAccount(c.deps.sql, a.principal.userId);
        const s = await c.deps.sessions.create(user.id);
        return reply(
          201,
          { user: { id: user.id, username: user.slug }, expires_at: toIso(new Date(s.expires_at))! },
          { 'Set-Cookie': sessionCookie(s.id), 'Cache-Control': 'no-store' },
        );
      },
    }),
    route({
      method: 'POST',
      path: '/auth/logout',
      family: FAMILY,
      summary: 'Sign out: end the cookie session on every process and clear the cookie (idempotent)',
      auth: 'none',
      response: SignOutResponse,
      async handler(c) {
        const id = readCookie(c.req.headers['cookie'], SESSION_COOKIE);
        if (id) await endWebSession(c.deps, c.log, id);
        const headers = { 'Set-Cookie': clearSessionCookie() };
        // A browser form post gets the original's redirect to `/`; API clients get JSON.
        const accept = c.req.headers['accept'] ?? '';
        if (accept.includes('text/html') && !accept.includes('application/json')) return redirect('/', 302, headers);
        return reply(200, { success: true }, headers);
      },
    }),
  ];
}
