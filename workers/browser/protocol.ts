import { AppError, type ErrorCode } from '../../runtime/errors.ts';

/**
 * The wire between web processes and browser workers (Redis). A page lives in exactly one worker process, so every
 * command for a session goes to that worker's own command list (`browserCommands(workerId)`, LPUSH/BRPOP: a list
 * and not pub/sub, so a command sent while the worker is busy is not lost), and the answer comes back on the
 * sender's reply channel (pub/sub: the sender is waiting, and if it is gone nobody needs the answer).
 * Binary results (PNG, PDF) travel base64 in the JSON; they are capped by the pool (10 / 20 MiB).
 */
export type BrowserOp = 'create' | 'goto' | 'action' | 'extract' | 'html' | 'screenshot' | 'pdf' | 'close';

export interface BrowserCommand {
  rid: string;
  replyTo: string;
  op: BrowserOp;
  sessionId: string;
  input: unknown;
}

export interface WireError {
  code: ErrorCode;
  message: string;
  details?: unknown;
  headers?: Record<string, string>;
}

export interface BrowserReply {
  rid: string;
  ok: boolean;
  value?: unknown;
  /** base64 of binary results. */
  bytes?: string;
  error?: WireError;
}

/** What a worker publishes in its heartbeat key. */
export interface WorkerReport {
  workerId: string;
  used: number;
  max: number;
  queued: number;
  queueMax: number;
  accepting: boolean;
  at: number;
}

export function toWire(err: unknown): WireError {
  if (err instanceof AppError) {
    return { code: err.code, message: err.message, ...(err.details !== undefined ? { details: err.details } : {}), ...(err.headers ? { headers: err.headers } : {}) };
  }
  // An unexpected failure inside the worker is a failure of the page machinery, not of the API: 502, not 500.
  return { code: 'BAD_GATEWAY', message: 'The browser worker failed to run the command', details: { reason: 'worker_error' } };
}

export function fromWire(e: WireError): AppError {
  return new AppError(e.code, e.message, { ...(e.details !== undefined ? { details: e.details } : {}), ...(e.headers ? { headers: e.headers } : {}) });
}
