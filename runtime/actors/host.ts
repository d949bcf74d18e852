import type { Redis } from 'ioredis';
import type { Sql } from '../db.ts';
import type { RedisKeys } from '../keys.ts';
import type { Logger } from '../log.ts';
import { ActorCell, type PartitionSlot } from './cell.ts';
import { commitRounds, resolveOutcome } from './commit.ts';
import { Committer } from './committer.ts';
import { decodeStreamEntry, type Envelope } from './envelope.ts';
import type { Gate } from './gate.ts';
import { InboxReader, ensureGroup, replayPartition } from './inbox.ts';
import type { ActorMetrics } from './metrics.ts';
import { completeRounds, failRounds, type RoundControl } from './outcomes.ts';
import { Replies } from './replies.ts';
import { dropRepeats, dropStaleTimers, type RepeatDeps } from './repeats.ts';
import { applyRound, needsCommit, type Round } from './round.ts';
import { TimerPoller, type DueTimer } from './timers.ts';
import type { ActorSystemOptions, AnyActorKind, CommitListener, HostCounts, KindStats } from './types.ts';

export interface HostDeps {
  sql: Sql;
  cmd: Redis;
  blocking: Redis;
  keys: RedisKeys;
  log: Logger;
  metrics: ActorMetrics;
  hostId: string;
  opts: Required<ActorSystemOptions>;
  listeners: Set<CommitListener>;
  /** Postgres work other than commits (loads, repeat checks, timer polls), shared by every kind of the process. */
  gate: Gate;
}

/**
 * KindHost: runs the actors of one kind whose partitions this process owns. It owns the cells (active actors), the
 * inbox reader, the timer poller and the committer; `Ownership` (ownership.ts) decides which partitions it serves and
 * calls installSlot / releaseSlot / dropSlot.
 *
 * Life of a command here: intake (local mailbox, inbox stream, or due timer) -> cell mailbox -> round (load, drop
 * stale timers and repeats, apply in memory: round.ts) -> committer (group commit, fenced: commit.ts) -> outcome
 * (outcomes.ts: committed, fenced, transient or permanent failure) -> the cell's next round.
 */
export class KindHost {
  readonly name: string;
  readonly partitions: number;
  readonly slots: Array<PartitionSlot | undefined>;
  readonly reader: InboxReader;
  readonly timers: TimerPoller;
  /** Set by Ownership: a commit found this slot fenced. */
  onFenced: (slot: PartitionSlot) => void = () => undefined;
  private readonly cells = new Map<string, ActorCell>();
  private readonly committer: Committer;
  private readonly gate: Gate;
  private readonly passivateMs: number;
  private passivation: NodeJS.Timeout | null = null;
  private queued = 0;
  private stopping = false;
  readonly counts: HostCounts = { turns: 0, commits: 0, fencedCommits: 0, timersFired: 0, loads: 0, replayed: 0, partitionsLost: 0 };
  private readonly replies: Replies;
  private readonly control: RoundControl;
  private readonly repeatDeps: RepeatDeps;

  constructor(
    readonly kind: AnyActorKind,
    private readonly d: HostDeps,
  ) {
    this.name = kind.name;
    this.partitions = kind.partitions ?? 64;
    this.slots = new Array<PartitionSlot | undefined>(this.partitions).fill(undefined);
    this.passivateMs = kind.passivateAfterMs ?? d.opts.passivateAfterMs;
    this.gate = d.gate;
    this.committer = new Committer(d.opts.maxBatchTurns, d.opts.maxConcurrentCommits, (rounds) => this.commitBatch(rounds));
    this.reader = new InboxReader(d.blocking, d.cmd, {
      consumer: d.hostId,
      count: d.opts.readCount,
      // Shorter than the lease so a read issued just before losing the lease cannot stay blocked long after it.
      blockMs: Math.max(50, Math.floor(d.opts.leaseTtlMs / 2)),
      streams: () => this.activeSlots().map((s) => ({ key: d.keys.actorInbox(this.name, s.partition), partition: s.partition, token: s })),
      // Entries read for an ownership that has ended since: if the partition is ours again (a new slot, whose replay
      // may have delivered them already), they are delivered as possible repeats; otherwise they stay pending.
      onEntries: (p, token, entries) => this.onStreamEntries(p, entries, this.slots[p] !== token),
      paused: () => this.queued > d.opts.maxQueued,
      onNoGroup: async (ps) => {
        for (const p of ps) await ensureGroup(d.cmd, d.keys.actorInbox(this.name, p));
      },
      log: d.log,
    });
    this.timers = new TimerPoller(d.sql, this.name, d.opts.timerPollMs, () => this.servingSlots().map((s) => s.partition), (t) => this.fireTimer(t), (fn) => this.gate.run(fn), d.log);
    this.replies = new Replies(d.cmd, d.keys, this.name, d.log, this.timers.inFlight);
    this.repeatDeps = { sql: d.sql, kind: this.name, gate: this.gate, timers: this.timers, metrics: d.metrics, replies: this.replies };
    this.control = {
      name: this.name,
      log: d.log,
      metrics: d.metrics,
      counts: this.counts,
      timers: this.timers,
      listeners: d.listeners,
      replies: this.replies,
      recommit: (r) => this.committer.push(r),
      finishRound: (cell) => this.finishRound(cell),
      requeue: (cell, envs) => this.requeue(cell, envs),
      retryLater: (cell) => this.retryLater(cell),
      fenced: (slot) => this.onFenced(slot),
      resolve: (txid) => resolveOutcome(d.sql, txid, () => !this.stopping),
    };
  }

  start(): void {
    this.reader.start();
    this.timers.start();
    const every = Math.max(20, Math.min(10_000, Math.floor(this.passivateMs / 2)));
    this.passivation = setInterval(() => this.passivateIdle(), every);
    this.passivation.unref();
  }

  /** Stops intake; Ownership releases the slots first. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.timers.stop();
    if (this.passivation) clearInterval(this.passivation);
    await this.reader.stop();
    await this.committer.drained();
  }

  activeSlots(): PartitionSlot[] {
    return this.slots.filter((s): s is PartitionSlot => s?.state === 'active');
  }

  servingSlots(): PartitionSlot[] {
    return this.slots.filter((s): s is PartitionSlot => !!s && s.serving);
  }

  isActive(id: string): boolean {
    return this.cells.has(id);
  }

  stats(): KindStats {
    return { kind: this.name, partitions: this.partitions, owned: this.servingSlots().map((s) => s.partition), activeActors: this.cells.size, queued: this.queued, ...this.counts };
  }

  // ---- intake -------------------------------------------------------------------------------------------------

  /** Fast path: the sender's process owns the partition. false when it does not (the client uses the stream). */
  enqueueLocal(partition: number, env: Envelope): boolean {
    const slot = this.slots[partition];
    if (this.stopping || !slot || slot.state !== 'active') return false;
    this.deliver(slot, env);
    return true;
  }

  onStreamEntries(partition: number, entries: Array<[string, string[] | null]>, claimed: boolean): void {
    const slot = this.slots[partition];
    // Not (or no longer) ours: leave them pending; the next owner claims them.
    if (!slot || !slot.serving) return;
    const dead: string[] = [];
    const now = performance.now();
    if (claimed) this.counts.replayed += entries.length;
    for (const [id, fields] of entries) {
      const env = fields ? decodeStreamEntry(id, fields, claimed, now) : null;
      if (env) this.deliver(slot, env);
      else {
        if (fields) this.d.log.warn({ kind: this.name, partition, id }, 'malformed actor command dropped');
        dead.push(id);
      }
    }
    if (dead.length > 0) this.replies.ack(new Map([[partition, dead]]));
  }

  private fireTimer(t: DueTimer): void {
    const slot = this.slots[t.partition];
    if (!slot || !slot.serving) {
      this.timers.inFlight.delete(t.timerId);
      return;
    }
    const timer = { name: t.name, dueAt: t.dueAt, payload: t.payload, timerId: t.timerId };
    // Whether a turn replaced or cleared it after the poll read it is decided when its round starts (runRound).
    this.deliver(slot, { commandId: `timer:${t.timerId}`, actorId: t.actorId, body: null, source: 'timer', check: false, record: false, timer, receivedAt: performance.now() });
  }

  private deliver(slot: PartitionSlot, env: Envelope): void {
    let cell = this.cells.get(env.actorId);
    if (!cell || cell.slot !== slot) {
      cell = new ActorCell(env.actorId, slot);
      this.cells.set(env.actorId, cell);
      slot.cells.add(cell);
    }
    cell.mailbox.push(env);
    this.queued++;
    this.schedule(cell);
  }

  // ---- rounds -------------------------------------------------------------------------------------------------

  private schedule(cell: ActorCell): void {
    if (cell.busy || cell.retryTimer || cell.mailbox.length === 0) return;
    if (!cell.slot.serving) return this.evictCell(cell);
    cell.busy = true;
    cell.slot.busy();
    void this.runRound(cell);
  }

  private async runRound(cell: ActorCell): Promise<void> {
    let envs: Envelope[] = [];
    try {
      if (!cell.loaded) {
        cell.state = await this.gate.run(() => this.kind.load(this.d.sql, cell.id));
        cell.loaded = true;
        this.counts.loads++;
        this.d.metrics.activations.inc({ kind: this.name });
      }
      envs = cell.mailbox.splice(0, cell.isolate > 0 ? 1 : this.d.opts.maxTurnsPerRound);
      this.queued -= envs.length;
      envs = dropStaleTimers(this.repeatDeps, cell, envs);
      const fresh = envs.some((e) => e.check) ? await dropRepeats(this.repeatDeps, cell, envs) : envs;
      if (fresh.length === 0) return this.finishRound(cell);
      const round = await applyRound(this.kind, cell, fresh, this.d.log);
      for (const t of round.skipped) this.timers.inFlight.delete(t.timerId);
      if (needsCommit(round)) this.committer.push(round);
      else await completeRounds(this.control, [round]);
    } catch (err) {
      this.d.log.warn({ err, kind: this.name, id: cell.id }, 'actor activation or repeat check failed; retrying');
      this.requeue(cell, envs);
      this.retryLater(cell);
    }
  }

  private async commitBatch(rounds: Round[]): Promise<void> {
    try {
      await commitRounds(this.d.sql, this.kind, rounds, this.d.opts.leaseTtlMs, this.d.log);
    } catch (err) {
      return failRounds(this.control, rounds, err);
    }
    this.counts.commits++;
    this.d.metrics.commits.inc({ kind: this.name, result: 'ok' });
    this.d.metrics.batchTurns.observe({ kind: this.name }, rounds.reduce((n, r) => n + r.turns.length, 0));
    await completeRounds(this.control, rounds);
  }

  private requeue(cell: ActorCell, envs: Envelope[]): void {
    for (const e of envs) e.check = true; // the failed transaction may have committed after all
    cell.mailbox.unshift(...envs);
    this.queued += envs.length;
  }

  private retryLater(cell: ActorCell): void {
    cell.failures++;
    const delay = Math.min(5_000, 25 * 2 ** Math.min(cell.failures, 8));
    cell.busy = false;
    cell.slot.idle();
    if (!cell.slot.serving) return this.evictCell(cell);
    cell.retryTimer = setTimeout(() => {
      cell.retryTimer = null;
      this.schedule(cell);
    }, delay);
    cell.retryTimer.unref();
  }

  private finishRound(cell: ActorCell): void {
    cell.busy = false;
    cell.lastActive = performance.now();
    cell.slot.idle();
    if (this.queued < this.d.opts.maxQueued / 2) this.reader.wake();
    if (!cell.slot.serving) return this.evictCell(cell);
    this.schedule(cell);
  }

  // ---- slots (called by Ownership) ----------------------------------------------------------------------------

  /** A partition this process just acquired (lease won, epoch claimed): replay what is pending, then serve it. */
  async installSlot(slot: PartitionSlot): Promise<void> {
    this.slots[slot.partition] = slot;
    this.timers.forgetPartition(slot.partition);
    await replayPartition(this.d.cmd, this.d.keys.actorInbox(this.name, slot.partition), this.d.hostId, this.d.opts.readCount, (entries, claimed) => {
      if (!claimed) this.counts.replayed += entries.length;
      this.onStreamEntries(slot.partition, entries, claimed);
    });
    if (slot.state !== 'acquiring') return;
    slot.state = 'active';
    this.reader.wake();
    void this.reader.restart();
  }

  /** Graceful hand-off: stop intake, let running rounds commit (up to `graceMs`), hand queued commands back. */
  async releaseSlot(slot: PartitionSlot, graceMs: number): Promise<void> {
    slot.state = 'releasing';
    await this.reader.restart();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([slot.drained(), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    this.dropSlot(slot);
  }

  /** Immediate: the lease is gone (or fenced). Running rounds finish on their own (their commit decides). */
  dropSlot(slot: PartitionSlot): void {
    slot.state = 'gone';
    if (this.slots[slot.partition] === slot) this.slots[slot.partition] = undefined;
    for (const cell of [...slot.cells]) {
      if (!cell.busy) this.evictCell(cell);
      else if (this.cells.get(cell.id) === cell) this.cells.delete(cell.id);
    }
    void this.reader.restart();
  }

  private evictCell(cell: ActorCell): void {
    if (cell.retryTimer) clearTimeout(cell.retryTimer);
    cell.retryTimer = null;
    for (const env of cell.mailbox.splice(0)) {
      this.queued--;
      this.replies.handBack(env);
    }
    if (this.cells.get(cell.id) === cell) this.cells.delete(cell.id);
    cell.slot.cells.delete(cell);
  }

  private passivateIdle(): void {
    const cutoff = performance.now() - this.passivateMs;
    for (const cell of this.cells.values()) {
      if (!cell.busy && !cell.retryTimer && cell.mailbox.length === 0 && cell.lastActive < cutoff) {
        this.cells.delete(cell.id);
        cell.slot.cells.delete(cell);
      }
    }
  }
}
