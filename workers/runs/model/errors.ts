/**
 * Every failure of a model call surfaces as one ModelError, whatever the provider, so the run worker decides with
 * one switch: `retryable` kinds are retried with backoff (honouring `retryAfterMs` when the provider gave one), the
 * others fail the run with `message` as the reason.
 *
 *   kind          retryable  when
 *   auth          no         401/403 (bad or missing key), 402 (billing)
 *   rate_limited  yes        429; retryAfterMs from retry-after-ms / retry-after when present
 *   bad_request   no         other 4xx, e.g. an unknown model name (the provider's own message is kept)
 *   upstream      yes        5xx, 529, connection refused/reset, a stream cut before its end marker
 *   timeout       yes        the call's own deadline (ChatRequest.timeoutMs) passed
 *   cancelled     no         the caller's AbortSignal fired
 *
 * The SDKs are built with maxRetries 0: the run worker owns retries (with its lease and the 15 min run budget in
 * view); retrying inside the SDK as well would multiply attempts and hide them from the run's events.
 */

export type ModelErrorKind = 'auth' | 'rate_limited' | 'bad_request' | 'upstream' | 'timeout' | 'cancelled';

const RETRYABLE: ReadonlySet<ModelErrorKind> = new Set(['rate_limited', 'upstream', 'timeout']);

export class ModelError extends Error {
  readonly kind: ModelErrorKind;
  readonly provider: string;
  readonly retryable: boolean;
  /** HTTP status from the provider, when there was a response. */
  readonly status: number | undefined;
  /** How long the provider asked us to wait (429, sometimes 503). */
  readonly retryAfterMs: number | undefined;

  constructor(kind: ModelErrorKind, provider: string, message: string, opts: { status?: number; retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'ModelError';
    this.kind = kind;
    this.provider = provider;
    this.retryable = RETRYABLE.has(kind);
    this.status = opts.status;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** The shape both official SDKs give their APIError (status, headers, parsed error body). */
interface SdkApiErrorLike {
  status?: number | undefined;
  headers?: Headers | undefined;
  error?: unknown;
  message: string;
}

/** `retry-after-ms` (OpenAI's, milliseconds) wins over `retry-after` (seconds or an HTTP date). */
export function parseRetryAfter(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.has('retry-after-ms') && Number.isFinite(ms) && ms >= 0) return Math.round(ms);
  const raw = headers.get('retry-after');
  if (raw == null || raw.trim() === '') return undefined;
  const secs = Number(raw);
  if (Number.isFinite(secs) && secs >= 0) return Math.round(secs * 1000);
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The provider's own words: OpenAI `{error:{message}}` (SDK keeps the inner object), Anthropic `{type:'error', error:{type, message}}`. */
function providerDetail(body: unknown): { message?: string; type?: string } {
  if (!body || typeof body !== 'object') return typeof body === 'string' && body ? { message: body } : {};
  const b = body as { message?: unknown; type?: unknown; code?: unknown; error?: unknown };
  if (b.error && typeof b.error === 'object') return providerDetail(b.error);
  const type = typeof b.code === 'string' ? b.code : typeof b.type === 'string' ? b.type : undefined;
  return { message: typeof b.message === 'string' ? b.message : undefined, type };
}

function kindForStatus(status: number): ModelErrorKind {
  if (status === 401 || status === 402 || status === 403) return 'auth';
  if (status === 429) return 'rate_limited';
  // 408 (the provider timed out reading us) and 409 (a lock timeout upstream) are transient: both SDKs retry them.
  if (status === 408 || status === 409 || status >= 500) return 'upstream';
  return 'bad_request';
}

/** A mid-stream error event has no HTTP status: judge it by the error type the provider named. */
function kindForType(type: string | undefined): ModelErrorKind {
  switch (type) {
    case 'rate_limit_error':
    case 'rate_limit_exceeded':
      return 'rate_limited';
    case 'authentication_error':
    case 'permission_error':
    case 'invalid_api_key':
      return 'auth';
    case 'invalid_request_error':
    case 'not_found_error':
    case 'request_too_large':
      return 'bad_request';
    default:
      return 'upstream';
  }
}

const isApiError = (e: unknown): e is Error & SdkApiErrorLike =>
  e instanceof Error && ('status' in e || 'headers' in e) && 'error' in e;

/**
 * Maps whatever an SDK threw to a ModelError. `abortedBy` says which of our own signals fired first (see
 * call-scope.ts): an abort is reported as that, whatever error class the SDK chose to wrap it in.
 */
export function toModelError(provider: string, err: unknown, abortedBy: 'timeout' | 'cancelled' | null, timeoutMs: number): ModelError {
  if (err instanceof ModelError) return err;
  if (abortedBy === 'timeout') return timeoutError(provider, timeoutMs, err);
  if (abortedBy === 'cancelled') return cancelledError(provider, err);
  const name = err instanceof Error ? err.constructor.name : '';
  if (name === 'APIConnectionTimeoutError') return timeoutError(provider, timeoutMs, err);
  if (name === 'APIUserAbortError') return cancelledError(provider, err);
  if (isApiError(err)) {
    const detail = providerDetail(err.error);
    const message = detail.message ?? err.message;
    if (typeof err.status === 'number') {
      const kind = kindForStatus(err.status);
      return new ModelError(kind, provider, `${provider} ${err.status}: ${message}`, {
        status: err.status,
        retryAfterMs: parseRetryAfter(err.headers),
        cause: err,
      });
    }
    // APIConnectionError (refused, reset, DNS) has neither status nor body; an in-stream error event has a body.
    if (name === 'APIConnectionError') return new ModelError('upstream', provider, `${provider} connection failed: ${connectionCause(err)}`, { cause: err });
    return new ModelError(kindForType(detail.type), provider, `${provider} stream error: ${message}`, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ModelError('upstream', provider, `${provider} call failed: ${message}`, { cause: err });
}

function connectionCause(err: Error): string {
  const cause = err.cause as { message?: string; code?: string; cause?: { code?: string; message?: string } } | undefined;
  return cause?.cause?.code ?? cause?.code ?? cause?.cause?.message ?? cause?.message ?? err.message;
}

export const timeoutError = (provider: string, timeoutMs: number, cause?: unknown) =>
  new ModelError('timeout', provider, `${provider} call exceeded its ${timeoutMs >= 1000 ? `${Math.round(timeoutMs / 1000)} s` : `${timeoutMs} ms`} limit`, { cause });

export const cancelledError = (provider: string, cause?: unknown) => new ModelError('cancelled', provider, `${provider} call cancelled`, { cause });

export const truncatedError = (provider: string) =>
  new ModelError('upstream', provider, `${provider} stream ended before the reply was complete`);
