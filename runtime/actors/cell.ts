import type { Envelope } from './envelope.ts';

/**
 * PartitionSlot: this process's ownership of one partition, for one epoch.
 *
 *   acquiring --(pending claimed, backlog read)--> active --(rebalance / shutdown)--> releasing --> gone
 *        \______________________________________________\--(lease lost, or fenced)----------------> gone
 *
 * acquiring: lease won and epoch claimed in Postgres; claimed commands are applied, local sends still go through
 *            the stream (so a sender's earlier stream commands are not overtaken).
 * active:    read by the blocking reader; local fast path allowed.
 * releasing: no new reads or local sends; in-flight rounds finish and commit; then queued commands are handed back
 *            (local ones re-sent through the stream, stream ones left pending for the next owner) and the lease is
 *            deleted.
 * gone:      a new slot object is created if the partition comes back (a new epoch), so late callbacks of the old
 *            ownership can recognise themselves as stale by identity.
 */
export type SlotState = 'acquiring' | 'active' | 'releasing' | 'gone';

export class PartitionSlot {
  state: SlotState = 'acquiring';
  /** performance.now() until which the lease is known valid (last successful renewal sent + ttl). */
  validUntil: number;
  readonly cells = new Set<ActorCell>();
  private busyCount = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(
    readonly partition: number,
    readonly epoch: number,
    readonly leaseValue: string,
    validUntil: number,
  ) {
    this.validUntil = validUntil;
  }

  get serving(): boolean {
    return this.state === 'acquiring' || this.state === 'active';
  }

  busy(): void {
    this.busyCount++;
  }

  idle(): void {
    this.busyCount--;
    if (this.busyCount === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Resolves when no round of this slot is running (loading, applying or committing). */
  drained(): Promise<void> {
    return this.busyCount === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}

/**
 * ActorCell: one active actor. A cell runs one round at a time: it takes the commands queued in its mailbox, applies
 * them in order to its in-memory state, and hands the round to the committer; only after the commit (and the
 * replies) does it take the next round. That is what makes turns of one actor sequential while commands keep
 * arriving, and what batches a hot actor's commands into one transaction.
 *
 *   idle --(command)--> busy: [load if not loaded] -> [check repeats] -> apply -> commit -> reply/ack --> idle
 *   busy --(commit failed, transient)--> commands back at the head of the mailbox, state dropped (reloaded), retry
 *                                        after a backoff
 *   idle for passivateAfterMs --> dropped from memory (state reloaded on the next command)
 */
export class ActorCell {
  state: unknown = undefined;
  loaded = false;
  mailbox: Envelope[] = [];
  busy = false;
  lastActive = 0;
  /** > 0: commit this actor alone, one turn at a time (isolating a command whose commit fails permanently). */
  isolate = 0;
  failures = 0;
  retryTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly id: string,
    readonly slot: PartitionSlot,
  ) {}
}
