import type { z } from 'zod';
import { AppError } from '../../runtime/errors.ts';
import type { SsrfBlockedError } from '../../runtime/net/ssrf.ts';

/**
 * Every failure of the browser pool is one of these, so the API (part 2) can throw them as they are: each is an
 * AppError with the status it answers with. The rule of thumb:
 *  - the caller's request cannot apply (bad URL, blocked target, selector matches nothing, unknown key) -> 422;
 *  - the page or the remote site failed (DNS error, connection refused, crash, redirect to a blocked target) -> 502;
 *  - the page did not finish in time -> 504;
 *  - the pool is full -> 429 with Retry-After; the session is gone -> 410 (with the reason it failed).
 * `details.reason` is a stable machine-readable word for each case.
 */

/** Same detail shape as the HTTP front's zod failures (`[{path, message, code}]`), with `code` our reason word. */
export function validation(message: string, path: string, code = 'invalid'): AppError {
  return new AppError('VALIDATION_ERROR', message, { details: [{ path, message, code }] });
}

export function fromZod(err: z.ZodError): AppError {
  return new AppError('VALIDATION_ERROR', 'Validation error', {
    details: err.issues.map((i) => ({ path: i.path.join('.'), message: i.message, code: i.code })),
  });
}

/** Parse a caller's input with `schema`, or throw the 422 the HTTP front would have answered. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw fromZod(r.error);
  return r.data;
}

/** The URL the caller asked for is refused by the SSRF rules (a caller mistake: 422). */
export function blockedUrl(err: SsrfBlockedError, path = 'url'): AppError {
  return new AppError('VALIDATION_ERROR', err.message, { details: [{ path, message: err.message, code: `blocked_${err.reason}` }], cause: err });
}

export function navigationFailed(message: string, reason: string, extra: Record<string, unknown> = {}): AppError {
  return new AppError('BAD_GATEWAY', message, { details: { reason, ...extra } });
}

export function pageTimeout(message: string, extra: Record<string, unknown> = {}): AppError {
  return new AppError('GATEWAY_TIMEOUT', message, { details: { reason: 'timeout', ...extra } });
}

export function queueFull(message: string, retryAfterSeconds: number, reason: 'queue_full' | 'queue_timeout' | 'overloaded'): AppError {
  const s = Math.max(1, Math.ceil(retryAfterSeconds));
  return new AppError('RATE_LIMITED', message, { headers: { 'Retry-After': String(s) }, details: { reason, retry_after: s } });
}

/** The session's browser crashed, or it was closed: every later call says why. */
export function sessionGone(message: string, reason: string): AppError {
  return new AppError('GONE', message, { details: { reason } });
}

export function poolUnavailable(message: string): AppError {
  return new AppError('SERVICE_UNAVAILABLE', message, { details: { reason: 'pool_unavailable' } });
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;
