/**
 * The error catalogue. Every code the API can answer with is defined here once, with its usual status; the
 * envelope `{"error":{"code","message","details"?}}` is built only by `toErrorBody`. `docs/errors.md` lists the
 * same codes with how to solve them, and test/errors-catalogue.test.ts fails when the two drift apart.
 * Codes are public API: never reuse a retired one.
 */
export const ERROR_CODES = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  PAYMENT_REQUIRED: 402,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  GONE: 410,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  VALIDATION_ERROR: 422,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  NOT_IMPLEMENTED: 501,
  BAD_GATEWAY: 502,
  SERVICE_UNAVAILABLE: 503,
  GATEWAY_TIMEOUT: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, message: string, opts: { details?: unknown; status?: number; headers?: Record<string, string>; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.code = code;
    this.status = opts.status ?? ERROR_CODES[code];
    this.details = opts.details;
    this.headers = opts.headers;
  }
}

export const badRequest = (message: string, details?: unknown) => new AppError('BAD_REQUEST', message, { details });
export const unauthorized = (message = 'Authentication required') => new AppError('UNAUTHORIZED', message);
export const forbidden = (message = 'Access denied') => new AppError('FORBIDDEN', message);
export const notFound = (resource: string) => new AppError('NOT_FOUND', `${resource} not found`);
export const conflict = (message: string, details?: unknown) => new AppError('CONFLICT', message, { details });
export const validationError = (details: unknown, message = 'Validation error') => new AppError('VALIDATION_ERROR', message, { details });
export const rateLimited = (message: string, retryAfterSeconds: number) =>
  new AppError('RATE_LIMITED', message, { headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) }, details: { retry_after: Math.max(1, Math.ceil(retryAfterSeconds)) } });

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

export function toErrorBody(code: ErrorCode, message: string, details?: unknown): ErrorBody {
  return details === undefined ? { error: { code, message } } : { error: { code, message, details } };
}

export const INTERNAL_MESSAGE = 'An unexpected error occurred. Please try again later.';

/**
 * Postgres errors that are the caller's fault (a unique key taken concurrently, a value out of range) become 4xx here,
 * in one place, so a race between two requests never surfaces as a 500.
 */
export function fromDatabaseError(err: unknown): AppError | null {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return null;
  switch (code) {
    case '23505':
      return conflict('Resource already exists', { constraint: (err as { constraint_name?: string }).constraint_name });
    case '23503':
      return new AppError('CONFLICT', 'Referenced resource does not exist or is still referenced');
    case '22001':
    case '22003':
    case '22P02':
    case '22007':
    case '22008':
      return validationError([{ path: [], message: 'Value out of range or malformed' }]);
    default:
      return null;
  }
}
