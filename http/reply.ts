import type { HttpResponse } from 'uWebSockets.js';

/** A finished HTTP answer: status, headers and a body (objects are sent as JSON). */
export class Reply {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}

export const reply = (status: number, body: unknown, headers?: Record<string, string>) => new Reply(status, body, headers);
export const created = (body: unknown) => new Reply(201, body);
export const noContent = () => new Reply(204, null);
export const redirect = (location: string, status = 302, headers: Record<string, string> = {}) => new Reply(status, null, { ...headers, Location: location });

/**
 * For handlers that keep the response open (SSE, chunked git pack streams): the pipeline hands over the raw uWS
 * response after the common headers are decided. `onAborted` is already registered; the responder must check
 * `isAborted()` before touching `res` after any await, and write inside `res.cork`.
 */
export class RawResponder {
  constructor(readonly run: (res: HttpResponse, ctl: { isAborted(): boolean; onAbort(fn: () => void): void; commonHeaders: Record<string, string> }) => void) {}
}
