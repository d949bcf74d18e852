import type { WireError } from './errors.ts';
import type { FiredTimer } from './types.ts';

/**
 * A command on its way through a host: where it came from decides how it is deduplicated, answered and
 * acknowledged.
 *
 *   source  | arrives by                          | answered by               | acknowledged by
 *   local   | in-process mailbox (fast path)      | settle() (promise)        | nothing to ack
 *   stream  | XREADGROUP / claim of the inbox     | PUBLISH to replyTo, if any| ackCommands (XACK + XDEL)
 *   timer   | the due-timer poll                  | nobody                    | the turn deletes the timer row
 */
export type Outcome = { ok: true; reply: unknown } | { ok: false; error: WireError };

export interface Envelope {
  commandId: string;
  actorId: string;
  body: unknown;
  source: 'local' | 'stream' | 'timer';
  /** Might already have been applied (caller-supplied id, redelivery, re-route): consult Postgres first. */
  check: boolean;
  /** Write an actor_commands row with the reply (every stream command, and any command with a caller-supplied id). */
  record: boolean;
  streamId?: string;
  replyTo?: string;
  timer?: FiredTimer;
  /** Local commands: called once with the outcome, or with `moved` when the partition left this process first. */
  settle?: (outcome: Outcome | 'moved') => void;
  /** performance.now() when it reached this host (turn latency metric). */
  receivedAt: number;
}

/**
 * A command for the in-process fast path. A caller-supplied id may name a command that was already applied (a retry),
 * so such a command is checked against Postgres first and recorded; a fresh id needs neither.
 */
export function localEnvelope(actorId: string, commandId: string, body: unknown, callerId: boolean, settle: NonNullable<Envelope['settle']>): Envelope {
  return { commandId, actorId, body, source: 'local', check: callerId, record: callerId, settle, receivedAt: performance.now() };
}

/** Stream entry fields: c command id, a actor id, b JSON body, r reply channel ('' = no reply), x '1' = check first. */
export function encodeStreamFields(env: { commandId: string; actorId: string; body: unknown; replyTo: string; check: boolean }): string[] {
  return ['c', env.commandId, 'a', env.actorId, 'b', JSON.stringify(env.body ?? null), 'r', env.replyTo, 'x', env.check ? '1' : '0'];
}

export function decodeStreamEntry(streamId: string, fields: string[], claimed: boolean, now: number): Envelope | null {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
  if (!f.c || f.a === undefined || f.b === undefined) return null;
  let body: unknown;
  try {
    body = JSON.parse(f.b);
  } catch {
    return null;
  }
  return {
    commandId: f.c,
    actorId: f.a,
    body,
    source: 'stream',
    check: claimed || f.x === '1',
    record: true,
    streamId,
    ...(f.r ? { replyTo: f.r } : {}),
    receivedAt: now,
  };
}

/** Reply on a system's reply channel; several for one channel travel as a JSON array of these. */
export interface ReplyMessage {
  c: string;
  ok: boolean;
  r?: unknown;
  e?: WireError;
}

export function replyMessage(commandId: string, outcome: Outcome): ReplyMessage {
  return outcome.ok ? { c: commandId, ok: true, r: outcome.reply ?? null } : { c: commandId, ok: false, e: outcome.error };
}

/** Compares stream ids ("<ms>-<seq>") numerically. */
export function compareStreamIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  return am.length !== bm.length ? am.length - bm.length : am !== bm ? (am < bm ? -1 : 1) : Number(as) - Number(bs);
}
