import { systemResolver, type ResolvedAddress, type Resolver } from '../../runtime/net/ssrf.ts';

/**
 * A short-lived cache in front of the guard's resolver. Request interception and the egress proxy both check each
 * request; with one cache they see the same answer, and the proxy dials the very address interception approved.
 * 10 s is short enough for real TTLs and long enough to cover one page load's burst of subresource requests.
 */
export function cachingResolver(base: Resolver = systemResolver, ttlMs = 10_000, maxEntries = 1_000): Resolver {
  const cache = new Map<string, { at: number; value: Promise<ResolvedAddress[]> }>();
  return (hostname) => {
    const key = hostname.toLowerCase();
    const now = Date.now();
    const hit = cache.get(key);
    if (hit && now - hit.at < ttlMs) return hit.value;
    const value = base(key);
    cache.set(key, { at: now, value });
    // A failed lookup is not cached: the next request asks again.
    value.catch(() => cache.delete(key));
    if (cache.size > maxEntries) cache.delete(cache.keys().next().value!);
    return value;
  };
}
