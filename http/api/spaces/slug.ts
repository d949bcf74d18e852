import type { TxSql } from '../../../runtime/db.ts';
import { randomSuffix } from '../../../runtime/ids.ts';
import { isReservedName, slugify } from '../../../runtime/identity/username.ts';

/**
 * Slug candidates for a new team space. Slugs and usernames share one namespace (`accounts_slug_key` on
 * lower(slug)), so a name's slug may already be a user's. Candidates are `base`, `base-2`, `base-3`, ... trimmed to
 * the 32-character slug limit; reserved names (`me`, `admin`, `spaces`, ...) are skipped so they never resolve in a
 * path.
 *
 * A name with no ASCII letter or digit (e.g. Japanese) would slugify to the fallback `space` for everyone and pile
 * up `space-2 ... space-900`; such names get a random base instead.
 */
const MAX_SLUG = 32;
const BATCH = 50;
/** After this many numbered candidates are all taken, stop counting and use a random suffix. */
const MAX_NUMBERED = 200;

export function slugBase(name: string): string {
  const hasAscii = /[a-z0-9]/i.test(name.normalize('NFKD'));
  return hasAscii ? slugify(name) : `space-${randomSuffix(6)}`;
}

export function withSuffix(base: string, suffix: string): string {
  if (!suffix) return base;
  const s = `-${suffix}`;
  return base.slice(0, MAX_SLUG - s.length).replace(/-+$/, '') + s;
}

/**
 * The first candidate no account holds right now. One indexed query per batch of 50 (`lower(slug) = ANY(...)`
 * uses accounts_slug_key). The caller inserts with ON CONFLICT DO NOTHING and asks again if a concurrent create
 * took the slug in between, so this only needs to be a good guess, not a reservation.
 */
export async function freeSlug(tx: TxSql, base: string): Promise<string> {
  for (let start = 1; start <= MAX_NUMBERED; start += BATCH) {
    const candidates: string[] = [];
    for (let n = start; n < start + BATCH; n++) {
      const c = withSuffix(base, n === 1 ? '' : String(n));
      if (!isReservedName(c)) candidates.push(c);
    }
    const taken = await tx<{ s: string }[]>`SELECT lower(slug) AS s FROM accounts WHERE lower(slug) = ANY(${tx.array(candidates)})`;
    const takenSet = new Set(taken.map((r) => r.s));
    const free = candidates.find((c) => !takenSet.has(c));
    if (free) return free;
  }
  return withSuffix(base, randomSuffix(6));
}
