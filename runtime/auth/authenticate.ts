import type { Sql } from '../db.ts';
import { AppError } from '../errors.ts';
import type { AuthCache } from './cache.ts';
import { hashToken, parseStoredScopes, PAT_PREFIX } from './pat.ts';
import type { Principal } from './principal.ts';
import { readCookie, SESSION_COOKIE, type SessionStore } from './sessions.ts';
import { SERVICE_TOKEN_PREFIX, type ServiceTokens } from './service-token.ts';
import type { PatToucher } from './touch.ts';

export interface AuthDeps {
  sql: Sql;
  authCache: AuthCache;
  /** Waits until invalidations published before now have been applied here (auth/cache.ts); absent: no wait. */
  authBarrier?: () => Promise<void>;
  sessions: SessionStore;
  serviceTokens: ServiceTokens;
  patToucher: PatToucher;
}

/** Outcome of looking at a request's credentials. `invalid` means a credential was presented and rejected. */
export type AuthResult = { kind: 'ok'; principal: Principal } | { kind: 'anonymous' } | { kind: 'invalid'; error: AppError };

const invalidToken = (message: string) =>
  new AppError('UNAUTHORIZED', message, { headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });

/**
 * The order of spec 2.1 without its first step (the forgeable `X-Takos-Internal` impersonation): cookie session,
 * then bearer (`tak_pat_` PAT, `tak_svc_` service token, JWT-looking tokens refused, anything else a session id).
 */
export async function authenticate(deps: AuthDeps, headers: Record<string, string>): Promise<AuthResult> {
  const cookie = readCookie(headers['cookie'], SESSION_COOKIE);
  if (cookie) {
    const p = await resolveSession(deps, cookie);
    if (p) return { kind: 'ok', principal: p };
  }
  const authz = headers['authorization'];
  if (!authz) return cookie ? { kind: 'invalid', error: new AppError('UNAUTHORIZED', 'Session expired') } : { kind: 'anonymous' };
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authz);
  if (!m) return { kind: 'invalid', error: invalidToken('Malformed Authorization header; expected "Bearer <token>"') };
  const token = m[1]!;
  if (token.startsWith(PAT_PREFIX)) {
    const p = await resolvePat(deps, token);
    return p ? { kind: 'ok', principal: p } : { kind: 'invalid', error: invalidToken('Invalid or expired personal access token') };
  }
  if (token.startsWith(SERVICE_TOKEN_PREFIX)) return resolveServiceToken(deps, token);
  if (token.includes('.')) {
    return { kind: 'invalid', error: invalidToken('OAuth bearer token is not supported on this endpoint. Use OAuth-protected routes.') };
  }
  const p = await resolveSession(deps, token);
  return p ? { kind: 'ok', principal: p } : { kind: 'invalid', error: invalidToken('Session expired') };
}

async function resolvePat(deps: AuthDeps, token: string): Promise<Principal | null> {
  const hash = hashToken(token);
  const key = `pat:${hash}`;
  const now = Date.now();
  const hit = await cachedCredential(deps, key, now);
  if (hit === 'miss') return null;
  if (hit) {
    if (hit.expiresAt !== null && hit.expiresAt <= now) return null;
    deps.patToucher.touch(hit.principal.patId!);
    return hit.principal;
  }
  const epoch = deps.authCache.epoch;
  const [row] = await deps.sql<{ id: string; account_id: string; scopes: string; expires_at: Date | null; status: string; is_server_admin: boolean }[]>`
    SELECT p.id, p.account_id, p.scopes, p.expires_at, a.status, a.is_server_admin
    FROM personal_access_tokens p JOIN accounts a ON a.id = p.account_id
    WHERE p.token_hash = ${hash}`;
  const scopes = row ? parseStoredScopes(row.scopes) : null;
  if (!row || row.status !== 'active' || scopes === null) {
    deps.authCache.setMiss(key, epoch);
    return null;
  }
  const expiresAt = row.expires_at ? row.expires_at.getTime() : null;
  const principal: Principal = { userId: row.account_id, via: 'pat', scopes, isServerAdmin: row.is_server_admin, patId: row.id };
  deps.authCache.set(key, { principal, expiresAt }, epoch);
  if (expiresAt !== null && expiresAt <= now) return null;
  deps.patToucher.touch(row.id);
  return principal;
}

/**
 * Service tokens are cached like PATs (a session runtime heartbeats with the same token for hours): verifying the
 * signature and loading the subject once per TTL instead of per request. A suspended user's entries go with the
 * user invalidation; an expired token stops at its `exp` even while cached.
 */
async function resolveServiceToken(deps: AuthDeps, token: string): Promise<AuthResult> {
  const key = `svc:${token}`;
  const now = Date.now();
  const hit = await cachedCredential(deps, key, now);
  const invalid = (message: string): AuthResult => ({ kind: 'invalid', error: invalidToken(message) });
  if (hit === 'miss') return invalid('Invalid or expired service token');
  if (hit) return hit.expiresAt !== null && hit.expiresAt <= now ? invalid('Invalid or expired service token') : { kind: 'ok', principal: hit.principal };
  const epoch = deps.authCache.epoch;
  const claims = await deps.serviceTokens.verify(token);
  if (!claims) {
    deps.authCache.setMiss(key, epoch);
    return invalid('Invalid or expired service token');
  }
  const user = await loadAccount(deps, claims.sub);
  if (!user) return invalid('Service token subject is not an active user');
  const principal: Principal = {
    userId: claims.sub,
    via: 'service',
    scopes: '*',
    isServerAdmin: false,
    ...(claims.sid ? { boundSessionId: claims.sid } : {}),
    ...(claims.spc ? { boundSpaceId: claims.spc } : {}),
  };
  deps.authCache.set(key, { principal, expiresAt: claims.exp !== undefined ? claims.exp * 1000 : null }, epoch);
  return { kind: 'ok', principal };
}

async function resolveSession(deps: AuthDeps, id: string): Promise<Principal | null> {
  const key = `sess:${id}`;
  const now = Date.now();
  const hit = await cachedCredential(deps, key, now);
  if (hit === 'miss') return null;
  if (hit) return hit.expiresAt !== null && hit.expiresAt <= now ? null : hit.principal;
  const epoch = deps.authCache.epoch;
  const s = await deps.sessions.get(id);
  if (!s) return null;
  const user = await loadAccount(deps, s.user_id);
  if (!user) return null;
  const principal: Principal = { userId: s.user_id, via: 'session', scopes: '*', isServerAdmin: user.is_server_admin, sessionId: id };
  deps.authCache.set(key, { principal, expiresAt: s.expires_at }, epoch);
  return principal;
}

/**
 * The cached answer for `key`; a credential found there is used only after the barrier, so a token deleted, a session
 * ended or a user suspended through another process before this request is not accepted from a stale entry.
 * A cached "no" needs no barrier: an invalidation only ever takes credentials away.
 */
async function cachedCredential(deps: AuthDeps, key: string, now: number): Promise<ReturnType<AuthCache['get']>> {
  const hit = deps.authCache.get(key, now);
  if (hit === undefined || hit === 'miss' || !deps.authBarrier) return hit;
  await deps.authBarrier();
  return deps.authCache.get(key, now);
}

async function loadAccount(deps: AuthDeps, userId: string): Promise<{ is_server_admin: boolean } | null> {
  const [u] = await deps.sql<{ is_server_admin: boolean }[]>`
    SELECT is_server_admin FROM accounts WHERE id = ${userId} AND type = 'user' AND status = 'active'`;
  return u ?? null;
}
