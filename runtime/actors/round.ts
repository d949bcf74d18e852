import { AppError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Logger } from '../log.ts';
import type { ActorCell } from './cell.ts';
import type { Envelope, Outcome } from './envelope.ts';
import { toWireError } from './errors.ts';
import type { TimerOp } from './timers.ts';
import type { AnyActorKind, FiredTimer, TurnContext, TurnResult } from './types.ts';

/**
 * One round of one actor: its queued commands applied in order to its in-memory state, producing what the commit
 * writes (final state, events, replies, timer changes) and what goes out after it (replies, acks).
 */
export interface TurnRecord {
  env: Envelope;
  outcome: Outcome;
  /** Later copies of the same command id in this round: answered with this turn's outcome, applied never. */
  dups: Envelope[];
}

export interface Round {
  cell: ActorCell;
  previous: unknown;
  state: unknown;
  events: unknown[];
  /** At least one turn succeeded: the state goes to persist(). */
  changed: boolean;
  turns: TurnRecord[];
  /** Final timer change per name in this round. */
  timerOps: Map<string, TimerOp>;
  /** Timers this round consumed (deleted by timer_id in the commit). */
  fired: FiredTimer[];
  /** Due timers not fired because an earlier turn of this round replaced or cleared them. */
  skipped: FiredTimer[];
}

class Ctx implements TurnContext {
  ops: Map<string, TimerOp> | null = null;
  constructor(
    readonly kind: string,
    readonly id: string,
    readonly partition: number,
    readonly epoch: number,
    readonly commandId: string,
    readonly now: Date,
  ) {}
  setTimer(name: string, at: Date | number, payload?: unknown): void {
    const fireAt = at instanceof Date ? at : new Date(this.now.getTime() + Math.max(0, at));
    if (Number.isNaN(fireAt.getTime())) throw new Error(`setTimer(${name}): invalid time`);
    (this.ops ??= new Map()).set(name, { op: 'set', name, fireAt, payload: payload ?? null, timerId: newId() });
  }
  clearTimer(name: string): void {
    (this.ops ??= new Map()).set(name, { op: 'clear', name });
  }
}

export async function applyRound(kind: AnyActorKind, cell: ActorCell, envs: Envelope[], log: Logger): Promise<Round> {
  const round: Round = { cell, previous: cell.state, state: cell.state, events: [], changed: false, turns: [], timerOps: new Map(), fired: [], skipped: [] };
  const seen = new Map<string, TurnRecord>();
  for (const env of envs) {
    const earlier = seen.get(env.commandId);
    if (earlier) {
      earlier.dups.push(env);
      continue;
    }
    // A timer changed by an earlier turn of this round is no longer the one that came due.
    if (env.timer && round.timerOps.has(env.timer.name)) {
      round.skipped.push(env.timer);
      continue;
    }
    const ctx = new Ctx(kind.name, cell.id, cell.slot.partition, cell.slot.epoch, env.commandId, new Date());
    let outcome: Outcome;
    try {
      let res: TurnResult<unknown, unknown, unknown> | undefined;
      if (env.timer) {
        round.fired.push(env.timer);
        if (kind.onTimer) res = await kind.onTimer(round.state, env.timer, ctx);
        else log.warn({ kind: kind.name, id: cell.id, timer: env.timer.name }, 'timer fired for a kind without onTimer; dropped');
      } else {
        res = await kind.handle(round.state, env.body, ctx);
      }
      if (res) {
        // Returning the very same state object with no events means "nothing changed": such a turn (a read) writes
        // nothing, and a round made only of them is answered without a transaction.
        if (res.state !== round.state || (res.events && res.events.length > 0)) round.changed = true;
        round.state = res.state;
        if (res.events) for (const e of res.events) round.events.push(e);
        if (ctx.ops) for (const [name, op] of ctx.ops) round.timerOps.set(name, op);
      }
      outcome = { ok: true, reply: res?.reply };
    } catch (err) {
      if (!(err instanceof AppError)) {
        log.error({ err, kind: kind.name, id: cell.id, commandId: env.commandId }, 'actor turn threw; command rejected');
      }
      outcome = { ok: false, error: toWireError(err) };
    }
    const rec: TurnRecord = { env, outcome, dups: [] };
    seen.set(env.commandId, rec);
    round.turns.push(rec);
  }
  return round;
}

/** Whether a round must go through a transaction (anything to write), or can be answered at once. */
export function needsCommit(r: Round): boolean {
  return r.changed || r.fired.length > 0 || r.timerOps.size > 0 || r.turns.some((t) => t.env.record);
}
