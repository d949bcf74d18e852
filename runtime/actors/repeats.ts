import type { Sql } from '../db.ts';
import type { ActorCell } from './cell.ts';
import { appliedCommands } from './commit.ts';
import type { Envelope } from './envelope.ts';
import type { WireError } from './errors.ts';
import type { Gate } from './gate.ts';
import type { ActorMetrics } from './metrics.ts';
import { addAck, type Replies } from './replies.ts';
import { existingTimers, type TimerPoller } from './timers.ts';

/**
 * The start of a round: commands that may have been applied already and timers that may be out of date are sorted
 * out before any handler runs.
 *   - A command marked `check` (caller-supplied id, redelivered, re-routed, or retried after a failed commit) whose
 *     id is in actor_commands is answered with the stored reply and acknowledged, not applied again.
 *   - A due timer that a turn replaced, cleared or consumed after the poll read it is dropped (from the owner's
 *     memory of its recent commits; one that waited too long for that memory is checked in actor_timers).
 */
export interface RepeatDeps {
  sql: Sql;
  kind: string;
  gate: Gate;
  timers: TimerPoller;
  metrics: ActorMetrics;
  replies: Replies;
}

/** Due timers replaced, cleared or consumed by a turn committed after the poll read them are not fired. */
export function dropStaleTimers(d: RepeatDeps, cell: ActorCell, envs: Envelope[]): Envelope[] {
  if (!envs.some((e) => e.timer)) return envs;
  return envs.filter((e) => {
    if (!e.timer || e.check) return true;
    const f = d.timers.freshness(cell.id, e.timer.name, e.timer.timerId, e.receivedAt);
    if (f === 'unknown') e.check = true;
    if (f !== 'stale') return true;
    d.timers.inFlight.delete(e.timer.timerId);
    return false;
  });
}

/** Answers commands already applied (stored reply), drops timers replaced since the poll; returns the rest. */
export async function dropRepeats(d: RepeatDeps, cell: ActorCell, envs: Envelope[]): Promise<Envelope[]> {
  const cmdIds = envs.filter((e) => e.check && !e.timer).map((e) => e.commandId);
  const timerIds = envs.filter((e) => e.check && e.timer).map((e) => e.timer!.timerId);
  const [applied, timers] = await d.gate.run(() =>
    Promise.all([
      cmdIds.length > 0 ? appliedCommands(d.sql, d.kind, cell.id, cmdIds) : Promise.resolve(new Map<string, { ok: boolean; reply: unknown }>()),
      timerIds.length > 0 ? existingTimers(d.sql, d.kind, cell.id, timerIds) : Promise.resolve(new Set<string>()),
    ]),
  );
  const keep: Envelope[] = [];
  const acks = new Map<number, string[]>();
  for (const env of envs) {
    if (env.timer && env.check && !timers.has(env.timer.timerId)) {
      d.timers.inFlight.delete(env.timer.timerId);
      continue;
    }
    const prior = !env.timer && env.check ? applied.get(env.commandId) : undefined;
    if (!prior) {
      keep.push(env);
      continue;
    }
    d.metrics.turns.inc({ kind: d.kind, outcome: 'duplicate' });
    d.replies.settle(env, prior.ok ? { ok: true, reply: prior.reply } : { ok: false, error: prior.reply as WireError });
    if (env.streamId) addAck(acks, cell.slot.partition, env.streamId);
  }
  d.replies.ack(acks);
  return keep;
}
