import { createHash, randomBytes } from 'node:crypto';

/** `tak_pat_` + base64url(32 random bytes): 51 chars; the first 12 are shown as `token_prefix` (spec 2.2). */
export const PAT_PREFIX = 'tak_pat_';
export const PAT_PATTERN = /^tak_pat_[A-Za-z0-9_-]{43}$/;

export function generatePat(): { token: string; hash: string; prefix: string } {
  const token = PAT_PREFIX + randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token), prefix: token.slice(0, 12) };
}

/** Tokens are stored only as SHA-256 hex: a database leak does not leak usable credentials. */
export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

/** The complete OAuth scope list (spec 2.4); a PAT's JSON scope list may only name these. */
export const ALL_SCOPES = [
  'openid', 'profile', 'email',
  'spaces:read', 'spaces:write', 'files:read', 'files:write', 'memories:read', 'memories:write',
  'threads:read', 'threads:write', 'agents:execute', 'repos:read', 'repos:write',
] as const;

/**
 * The `scopes` column holds '*' or a JSON array string (spec 2.2). The original silently made a token unusable when
 * the column held anything else; we refuse such input when the token is created (422) and still treat a corrupt
 * stored value as "no scopes" rather than as full access.
 */
export function parseStoredScopes(raw: string): '*' | string[] | null {
  if (raw === '*') return '*';
  try {
    const v: unknown = JSON.parse(raw);
    return Array.isArray(v) && v.every((s) => typeof s === 'string') ? (v as string[]) : null;
  } catch {
    return null;
  }
}

/** `X:write` implies `X:read` (spec 2.4). */
export function hasScope(scopes: '*' | string[], needed: string): boolean {
  if (scopes === '*') return true;
  if (scopes.includes(needed)) return true;
  if (needed.endsWith(':read')) return scopes.includes(needed.replace(/:read$/, ':write'));
  return false;
}
