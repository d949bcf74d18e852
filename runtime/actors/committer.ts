import type { Round } from './round.ts';

/**
 * Group commit for one kind: rounds queue here and leave in batches of up to `maxBatchTurns` turns, with at most
 * `maxConcurrent` transactions in flight. While transactions are in flight, new rounds accumulate, so the batch size
 * follows the load (1 when idle, hundreds under pressure) without any timer-based waiting. An isolated round (a
 * suspected poison command) always travels alone.
 *
 * Batching is across actors and partitions; ordering is still per actor because an actor has at most one round in
 * the system at a time (its cell stays busy until its round's outcome is handled).
 *
 * Measured (bench/actors/turns.ts through run.mjs, durable Postgres, 1,000 keys, 50 senders, 2 shared vCPU): one
 * transaction per round (maxBatchTurns 1) 264-517 turns/s; rounds of many actors per transaction 6,955 turns/s
 * (42 turns per transaction). maxConcurrent 1 / 2 / 4 gave 7.9k / 4.1k / 5.4k and 1.8k / 2.0k / 2.0k turns/s in two
 * runs: within the noise of the shared machine; 2 keeps one transaction filling while another flushes, and is the
 * default (raise it where commits are slow and many actors are busy: the remote path waits in this queue).
 */
export class Committer {
  private readonly queue: Round[] = [];
  private inFlight = 0;
  private scheduled = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly maxBatchTurns: number,
    private readonly maxConcurrent: number,
    private readonly commit: (rounds: Round[]) => Promise<void>,
  ) {}

  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  push(round: Round): void {
    this.queue.push(round);
    this.schedule();
  }

  /** Resolves when nothing is queued or in flight. */
  drained(): Promise<void> {
    return this.pending === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate, not a microtask: every round produced by the I/O callbacks of this loop iteration (a whole
    // XREADGROUP reply, many local sends) joins the same batch.
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxConcurrent && this.queue.length > 0) {
      const batch = this.take();
      this.inFlight++;
      // commit() handles its own failures; the catch only keeps a bug there from becoming an unhandled rejection.
      void this.commit(batch)
        .catch(() => undefined)
        .finally(() => {
          this.inFlight--;
          if (this.pending === 0) for (const w of this.idleWaiters.splice(0)) w();
          else this.schedule();
        });
    }
  }

  private take(): Round[] {
    const first = this.queue[0]!;
    if (first.cell.isolate > 0) return this.queue.splice(0, 1);
    const batch: Round[] = [];
    const rest: Round[] = [];
    let turns = 0;
    for (const r of this.queue) {
      if (turns >= this.maxBatchTurns || r.cell.isolate > 0) rest.push(r);
      else {
        batch.push(r);
        turns += Math.max(1, r.turns.length);
      }
    }
    this.queue.length = 0;
    this.queue.push(...rest);
    return batch;
  }
}
