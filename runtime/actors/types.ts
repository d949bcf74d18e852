import type { Sql, TxSql } from '../db.ts';

/**
 * Public types of the actor runtime. An actor kind is a plain object: how to load an actor's state, how one command
 * changes it (a pure-ish function of state and command: no I/O that must not be repeated), and how to write the
 * changes of many actors in one transaction. Everything else (ownership, delivery, batching, fencing, timers,
 * idempotency) is the host's job. See GUARANTEES.md for what holds under which failure.
 */

/** A timer that came due; delivered to `onTimer` as an ordinary turn. */
export interface FiredTimer<P = unknown> {
  name: string;
  /** When it was due (it fires at or after this instant of the Postgres clock, never before). */
  dueAt: Date;
  payload: P;
  timerId: string;
}

export interface TurnContext {
  readonly kind: string;
  readonly id: string;
  readonly partition: number;
  /** Fencing epoch of the partition owner running this turn. */
  readonly epoch: number;
  /** Id of the command (`timer:<timerId>` for a timer turn). Stable across redeliveries of the same command. */
  readonly commandId: string;
  /** Wall clock when the turn started. */
  readonly now: Date;
  /**
   * Schedules (or replaces) the actor's timer `name` to fire at `at` (a Date, or milliseconds from now). Written in
   * the same transaction as the turn; discarded if the turn throws. A periodic timer is one that `onTimer` sets again.
   */
  setTimer(name: string, at: Date | number, payload?: unknown): void;
  /** Cancels the actor's timer `name` (in the turn's transaction). */
  clearTimer(name: string): void;
}

export interface TurnResult<S, E = unknown, R = unknown> {
  /**
   * The actor's state after the turn. Return the very same object (and no events) to say "nothing changed": such a
   * turn (a read) writes nothing, and a local round made only of reads is answered without a transaction.
   */
  state: S;
  /** Events this turn emitted, in order; handed to `persist` and to `onCommitted` listeners after the commit. */
  events?: E[];
  /** Value the sender of the command receives (JSON-serialisable: remote senders get it through JSON). */
  reply?: R;
}

/** One actor's net change in a commit: its state after the batch's turns, and the events they emitted in order. */
export interface ActorChange<S, E> {
  id: string;
  partition: number;
  state: S;
  /** State before the first turn of this batch (as loaded, or as last committed). */
  previous: S;
  events: E[];
}

/**
 * An actor kind. Methods (not arrow properties) on purpose: method parameters are bivariant, which lets a concrete
 * kind be held as `AnyActorKind` by the host.
 */
export interface ActorKind<S, C, R = unknown, E = unknown> {
  /** Lower-case name, part of every Redis key and Postgres row of the kind. */
  readonly name: string;
  /**
   * Number of partitions (default 64). Fixed for the life of the kind's data: timers and command records store
   * their partition, and every process must agree on it.
   */
  readonly partitions?: number;
  /** Idle time after which an active actor is dropped from memory (default: the system's `passivateAfterMs`). */
  readonly passivateAfterMs?: number;
  /** State of actor `id` as stored (or its initial state when it has none). Called on activation, outside any turn. */
  load(sql: Sql, id: string): Promise<S>;
  /**
   * Applies one command. Throw an AppError to reject it (the sender receives that error, nothing changes, and the
   * rejection is recorded like a reply). Must not mutate `state` in place if it throws after doing so.
   */
  handle(state: S, command: C, ctx: TurnContext): TurnResult<S, E, R> | Promise<TurnResult<S, E, R>>;
  /** Applies a fired timer. A timer whose handler throws is still consumed (logged), so it cannot fire forever. */
  onTimer?(state: S, timer: FiredTimer, ctx: TurnContext): TurnResult<S, E> | Promise<TurnResult<S, E>>;
  /**
   * Writes the changes of a batch of turns (many actors, each at most once) inside the batch's transaction. Issue
   * the statements without awaiting one before sending the next where possible: postgres.js pipelines them.
   */
  persist(tx: TxSql, changes: ReadonlyArray<ActorChange<S, E>>): Promise<unknown>;
  /**
   * Declares that `persist` issues every statement synchronously (before its first await) and uses no savepoints.
   * The commit then sends BEGIN, the fence, every statement and COMMIT in one flight: one round trip to Postgres
   * instead of three (runtime/actors/commit.ts). A statement issued after that throws instead of running outside
   * the transaction.
   */
  readonly persistIssuesSynchronously?: boolean;
}

export type AnyActorKind = ActorKind<unknown, unknown, unknown, unknown>;
export type CommandOf<K> = K extends ActorKind<infer _S, infer C, infer _R, infer _E> ? C : never;
export type ReplyOf<K> = K extends ActorKind<infer _S, infer _C, infer R, infer _E> ? R : never;

export interface CommittedActor<S = unknown, E = unknown> {
  id: string;
  partition: number;
  state: S;
  events: E[];
}

/** What one transaction committed for one kind; handed to `onCommitted` listeners before replies go out. */
export interface CommittedBatch<S = unknown, E = unknown> {
  kind: string;
  actors: CommittedActor<S, E>[];
}

export type CommitListener = (batch: CommittedBatch) => void | Promise<void>;

export interface SendOptions {
  /**
   * Idempotency key. Two sends with the same id to the same actor apply once and both get the stored reply (within
   * the deduplication window, `commandRetentionMs`). Default: a fresh random id.
   */
  commandId?: string;
  /** How long `send` waits for the reply (default: the system's `defaultTimeoutMs`). */
  timeoutMs?: number;
}

export interface ActorSystemOptions {
  /** Unique id of this process's actor system (consumer name, lease owner, reply channel). Default: random. */
  hostId?: string;
  /** false: this process only sends (workers); it owns no partitions. Default true. */
  hosting?: boolean;
  /** Lease time to live. With the default renewal, a dead owner's partitions move within ttl + renewEvery. */
  leaseTtlMs?: number;
  /** Renewal / rebalance tick. Must be well under leaseTtlMs (default ttl / 3). */
  renewEveryMs?: number;
  /** Most commands one actor applies in memory before committing them together. */
  maxTurnsPerRound?: number;
  /** Most turns committed in one transaction (across actors and partitions of a kind). */
  maxBatchTurns?: number;
  /** Transactions of one kind in flight at once. */
  maxConcurrentCommits?: number;
  /** XREADGROUP COUNT per partition stream. */
  readCount?: number;
  /** How often due timers are polled (lateness bound: this plus one turn). */
  timerPollMs?: number;
  /** Default idle time before an actor is passivated. */
  passivateAfterMs?: number;
  /** How long applied command ids are kept for deduplication. */
  commandRetentionMs?: number;
  /** Commands queued in memory per kind above which reading from Redis pauses. */
  maxQueued?: number;
  /** Default `send` timeout. */
  defaultTimeoutMs?: number;
  /**
   * Postgres operations other than commits (activations, repeat checks, timer polls) in flight per process, across
   * kinds; commits are bounded by maxConcurrentCommits per kind. Default PG_POOL_MAX / 4 (2..8).
   */
  pgConcurrency?: number;
}

/** What a kind's host has done since it started, counted by the host and reported in its stats. */
export interface HostCounts {
  turns: number;
  commits: number;
  fencedCommits: number;
  timersFired: number;
  loads: number;
  /** Commands replayed on acquiring partitions (left pending or queued by a previous owner) or claimed from a zombie. */
  replayed: number;
  /** Partitions lost without releasing them (lease expired or taken, or fenced). */
  partitionsLost: number;
}

export interface KindStats extends HostCounts {
  kind: string;
  partitions: number;
  /** Partitions this process owns and serves now. */
  owned: number[];
  activeActors: number;
  queued: number;
}
