import { AppError, ERROR_CODES, INTERNAL_MESSAGE, type ErrorCode } from '../errors.ts';

/**
 * The one place where low-level outcomes of the actor runtime become errors (STYLE.md item 2): Postgres failures of a
 * commit are classified here, and replies cross processes in the wire form defined here.
 */

/** `send` got no reply in time. The command may still be applied later (at-least-once); retry with the same commandId. */
export class ActorTimeoutError extends AppError {
  constructor(kind: string, id: string, ms: number) {
    super('GATEWAY_TIMEOUT', `Actor ${kind}/${id} did not reply within ${ms} ms; the command may still be applied`, {
      details: { kind, id, timeout_ms: ms },
    });
  }
}

/** The actor system is stopping or not started. */
export class ActorUnavailableError extends AppError {
  constructor(message: string) {
    super('SERVICE_UNAVAILABLE', message);
  }
}

/**
 * Internal: a command delivered to this process's in-memory mailbox was not applied because the partition left this
 * process (lease lost, fenced or released). The client re-sends it through the partition's stream.
 */
export class PartitionMovedError extends Error {
  constructor(readonly kind: string, readonly partition: number) {
    super(`Actor partition ${kind}/${partition} moved to another process`);
  }
}

/** Postgres SQLSTATE raised by actor_fence() (migrations/0004_actor_runtime.sql). */
export const FENCED_SQLSTATE = 'TA001';

export type CommitFailure =
  /** The partitions' epochs moved on: another process owns them; nothing was written. */
  | { type: 'fenced'; partitions: number[] }
  /** Connection-level or retryable: the outcome may be unknown; retry after re-checking what was applied. */
  | { type: 'transient' }
  /** The statements themselves failed (a kind's persist bug, a constraint): retrying the same batch fails again. */
  | { type: 'permanent' };

const TRANSIENT_NODE_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
]);

export function classifyCommitError(err: unknown): CommitFailure {
  const e = err as { code?: unknown; detail?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (code === FENCED_SQLSTATE) {
    const detail = typeof e?.detail === 'string' ? e.detail : '';
    return { type: 'fenced', partitions: detail.split(',').filter(Boolean).map(Number) };
  }
  if (isTransientDbError(code)) return { type: 'transient' };
  return { type: 'permanent' };
}

export function isTransientDbError(code: string): boolean {
  if (TRANSIENT_NODE_CODES.has(code)) return true;
  // 08: connection exception; 53: insufficient resources; 57: operator intervention (shutdown, cancel);
  // 40001/40P01: serialization failure / deadlock (retryable by definition).
  return /^(08|53|57)/.test(code) || code === '40001' || code === '40P01';
}

/** A rejection as it travels in a reply and is stored in actor_commands.reply. */
export interface WireError {
  code: ErrorCode;
  message: string;
  status: number;
  details?: unknown;
}

export function toWireError(err: unknown): WireError {
  if (err instanceof AppError) {
    return err.details === undefined
      ? { code: err.code, message: err.message, status: err.status }
      : { code: err.code, message: err.message, status: err.status, details: err.details };
  }
  return { code: 'INTERNAL_ERROR', message: INTERNAL_MESSAGE, status: 500 };
}

export function fromWireError(w: WireError): AppError {
  const code: ErrorCode = w.code in ERROR_CODES ? w.code : 'INTERNAL_ERROR';
  return new AppError(code, w.message, { status: w.status, ...(w.details !== undefined ? { details: w.details } : {}) });
}
