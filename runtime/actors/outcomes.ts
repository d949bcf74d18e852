import type { Logger } from '../log.ts';
import type { ActorCell, PartitionSlot } from './cell.ts';
import type { Envelope } from './envelope.ts';
import { classifyCommitError, type WireError } from './errors.ts';
import type { ActorMetrics } from './metrics.ts';
import { CommitFailed } from './commit.ts';
import { addAck, type Replies } from './replies.ts';
import type { Round } from './round.ts';
import type { TimerPoller } from './timers.ts';
import type { CommitListener, HostCounts } from './types.ts';

/**
 * What happens to rounds after their commit attempt (KindHost's committer calls one of the two):
 *
 *   committed  -> state kept, onCommitted listeners (awaited), replies, timer bookkeeping, XACK, next round
 *   fenced     -> rounds of the lost partitions are handed back (local commands re-sent by their client, stream
 *                 commands left pending for the new owner) and the partition is dropped; rounds of other
 *                 partitions in the same batch are committed again as they are (their epochs still hold)
 *   transient  -> when the connection broke after the transaction began, Postgres is asked whether it committed
 *                 (txid_status) and the rounds complete or retry accordingly; otherwise commands go back to the
 *                 head of the mailbox marked "check first", state is dropped and reloaded, retry after a backoff
 *   permanent  -> the same, and the actor then commits alone one command at a time; a command that still fails
 *                 alone is a poison command: rejected (INTERNAL_ERROR) and acknowledged rather than retried forever
 */
export interface RoundControl {
  readonly name: string;
  readonly log: Logger;
  readonly metrics: ActorMetrics;
  readonly counts: HostCounts;
  readonly timers: TimerPoller;
  readonly listeners: Set<CommitListener>;
  readonly replies: Replies;
  /** Queue a round for commit again, unchanged. */
  recommit(round: Round): void;
  finishRound(cell: ActorCell): void;
  requeue(cell: ActorCell, envs: Envelope[]): void;
  retryLater(cell: ActorCell): void;
  fenced(slot: PartitionSlot): void;
  /** Whether transaction `txid` committed (asks Postgres until it answers; 'abandoned' when the host stops). */
  resolve(txid: string): Promise<'committed' | 'aborted' | 'abandoned'>;
}

const POISON: WireError = { code: 'INTERNAL_ERROR', message: 'The command could not be committed and was dropped', status: 500 };

export async function completeRounds(c: RoundControl, rounds: Round[]): Promise<void> {
  const committed = [];
  for (const r of rounds) {
    r.cell.state = r.state;
    r.cell.failures = 0;
    if (r.cell.isolate > 0) r.cell.isolate--;
    if (r.changed) committed.push({ id: r.cell.id, partition: r.cell.slot.partition, state: r.state, events: r.events });
  }
  if (committed.length > 0 && c.listeners.size > 0) {
    const batch = { kind: c.name, actors: committed };
    const results = await Promise.allSettled([...c.listeners].map((l) => l(batch)));
    for (const res of results) if (res.status === 'rejected') c.log.warn({ err: res.reason, kind: c.name }, 'onCommitted listener failed');
  }
  const acks = new Map<number, string[]>();
  const now = performance.now();
  for (const r of rounds) {
    for (const t of r.turns) {
      for (const env of [t.env, ...t.dups]) {
        c.replies.settle(env, t.outcome);
        if (env.streamId) addAck(acks, r.cell.slot.partition, env.streamId);
      }
      c.counts.turns++;
      c.metrics.turns.inc({ kind: c.name, outcome: t.env.timer ? 'timer' : t.outcome.ok ? 'ok' : 'rejected' });
      c.metrics.turnSeconds.observe({ kind: c.name }, (now - t.env.receivedAt) / 1000);
    }
    if (r.fired.length > 0 || r.timerOps.size > 0) c.timers.noteCommitted(r.cell.id, r.cell.slot.partition, r.fired.map((f) => f.name), r.timerOps.values());
    for (const f of r.fired) {
      c.timers.inFlight.delete(f.timerId);
      c.counts.timersFired++;
      c.metrics.timersFired.inc({ kind: c.name });
    }
  }
  c.replies.ack(acks);
  for (const r of rounds) c.finishRound(r.cell);
}

export function failRounds(c: RoundControl, rounds: Round[], failure: unknown): void {
  const err = failure instanceof CommitFailed ? failure.error : failure;
  const txid = failure instanceof CommitFailed ? failure.txid : null;
  const f = classifyCommitError(err);
  c.metrics.commits.inc({ kind: c.name, result: f.type });
  if (f.type === 'transient' && txid) {
    // The connection broke after the transaction started: it may have committed. Never guess.
    c.log.warn({ err, kind: c.name, txid }, 'actor commit outcome unknown; asking Postgres');
    void c.resolve(txid).then((outcome) => {
      if (outcome === 'committed') return completeRounds(c, rounds);
      if (outcome === 'aborted') return retryRounds(c, rounds, f.type, err);
      for (const r of rounds) c.finishRound(r.cell); // abandoned: stopping
    });
    return;
  }
  if (f.type === 'fenced') {
    c.counts.fencedCommits++;
    const lost = new Set(f.partitions);
    for (const r of rounds) {
      const slot = r.cell.slot;
      if (f.partitions.length > 0 && !lost.has(slot.partition)) {
        c.recommit(r); // still valid: its partitions' epochs hold
        continue;
      }
      c.log.warn({ kind: c.name, partition: slot.partition, epoch: slot.epoch }, 'actor commit fenced: partition owned by a newer epoch');
      for (const t of r.turns) for (const env of [t.env, ...t.dups]) c.replies.handBack(env);
      c.finishRound(r.cell);
      if (slot.serving) c.fenced(slot);
    }
    return;
  }
  retryRounds(c, rounds, f.type, err);
}

function retryRounds(c: RoundControl, rounds: Round[], type: 'transient' | 'permanent', err: unknown): void {
  c.log.warn({ err, kind: c.name, failure: type, rounds: rounds.length }, 'actor commit failed; retrying');
  for (const r of rounds) {
    const cell = r.cell;
    const envs = r.turns.flatMap((t) => [t.env, ...t.dups]);
    if (type === 'permanent' && cell.isolate > 0 && r.turns.length === 1) {
      // Alone and one command, and still failing: a poison command. Reject it rather than block the actor.
      c.log.error({ err, kind: c.name, id: cell.id, commandId: envs[0]?.commandId }, 'actor command cannot be committed; rejected');
      const acks = new Map<number, string[]>();
      for (const env of envs) {
        if (env.timer) c.log.error({ kind: c.name, id: cell.id, timer: env.timer.name }, 'poison timer left in place until restart');
        else c.replies.settle(env, { ok: false, error: POISON });
        if (env.streamId) addAck(acks, cell.slot.partition, env.streamId);
      }
      c.replies.ack(acks);
      cell.isolate--;
      cell.loaded = false;
      c.finishRound(cell);
      continue;
    }
    if (type === 'permanent') cell.isolate = Math.max(cell.isolate, envs.length);
    c.requeue(cell, envs);
    cell.loaded = false;
    cell.state = undefined;
    c.retryLater(cell);
  }
}
