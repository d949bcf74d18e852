import type { Config } from '../runtime/config.ts';

/** Sent on every response (spec 1.6). CSP is only for HTML, which the API does not serve. */
export const SECURITY_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'SAMEORIGIN'],
  ['X-XSS-Protection', '1; mode=block'],
  ['Referrer-Policy', 'strict-origin-when-cross-origin'],
  ['Permissions-Policy', 'camera=(), microphone=(), geolocation=()'],
];

const LOCAL_ORIGIN = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/;

/** CORS with credentials: the origin is echoed only when it is the server's own, a loopback one, or configured. */
export function corsPolicy(config: Config) {
  const allowed = new Set(
    [new URL(config.publicUrl).origin, ...config.CORS_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean)].map((o) => o.replace(/\/$/, '')),
  );
  const isAllowed = (origin: string | undefined): origin is string => !!origin && (allowed.has(origin) || LOCAL_ORIGIN.test(origin));
  return {
    isAllowed,
    headers(origin: string | undefined): Array<[string, string]> {
      if (!isAllowed(origin)) return [];
      return [
        ['Access-Control-Allow-Origin', origin],
        ['Access-Control-Allow-Credentials', 'true'],
        ['Access-Control-Expose-Headers', 'X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After'],
        ['Vary', 'Origin'],
      ];
    },
    preflight(origin: string | undefined): Array<[string, string]> {
      if (!isAllowed(origin)) return [];
      return [
        ...this.headers(origin),
        ['Access-Control-Allow-Methods', 'GET, POST, PUT, PATCH, DELETE, OPTIONS'],
        ['Access-Control-Allow-Headers', 'Content-Type, Authorization, X-Requested-With, Accept, Last-Event-ID'],
        ['Access-Control-Max-Age', '86400'],
      ];
    },
  };
}
