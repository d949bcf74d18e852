import os from 'node:os';
import type { Redis } from 'ioredis';
import { newId } from '../ids.ts';
import type { Kernel } from '../kernel.ts';
import { ActorClient } from './client.ts';
import { ActorUnavailableError } from './errors.ts';
import { Gate } from './gate.ts';
import { KindHost } from './host.ts';
import { actorMetrics, type ActorMetrics } from './metrics.ts';
import { Ownership } from './ownership.ts';
import { DEFAULT_PARTITIONS, assertKindName, partitionOf } from './partitions.ts';
import type { ActorKind, ActorSystemOptions, AnyActorKind, CommitListener, KindStats, ReplyOf, CommandOf, SendOptions } from './types.ts';

/**
 * The actor system of one process: the kinds it knows, the hosts of those it serves, and the client that sends to
 * any of them. Create one per process (web processes host; workers pass `hosting: false` and only send).
 *
 *   const actors = new ActorSystem(kernel);
 *   actors.register(runKind);
 *   actors.onCommitted('run', (batch) => fanOut(batch));
 *   await actors.start();
 *   const reply = await actors.send(runKind, runId, { type: 'cancel' });
 *   ...
 *   await actors.stop();   // hands partitions over at once (graceful); before kernel.close()
 *
 * Lifecycle: new -> started -> stopped. register() only before start(); send()/tell() only while started.
 */
export class ActorSystem {
  readonly id: string;
  readonly options: Required<ActorSystemOptions>;
  private readonly kinds = new Map<string, AnyActorKind>();
  private readonly listeners = new Map<string, Set<CommitListener>>();
  private readonly hosts = new Map<string, KindHost>();
  private readonly ownerships = new Map<string, Ownership>();
  private readonly blocking: Redis[] = [];
  private readonly metrics: ActorMetrics;
  private readonly client: ActorClient;
  private state: 'new' | 'started' | 'stopped' = 'new';
  private readonly gauges: { owned: () => Array<[Record<string, string>, number]>; active: () => Array<[Record<string, string>, number]> };
  private readonly onRebalance = (channel: string, message: string) => {
    if (message === this.id) return;
    for (const [kind, o] of this.ownerships) if (channel === this.kernel.keys.actorRebalance(kind)) o.poke();
  };

  constructor(
    private readonly kernel: Kernel,
    options: ActorSystemOptions = {},
  ) {
    this.options = resolveOptions(kernel, options);
    this.id = this.options.hostId;
    this.metrics = actorMetrics(kernel.metrics);
    this.client = new ActorClient({
      cmd: kernel.redis.cmd,
      sub: kernel.redis.sub,
      keys: kernel.keys,
      log: kernel.log,
      systemId: this.id,
      defaultTimeoutMs: this.options.defaultTimeoutMs,
      partitions: (kind) => this.kind(kind).partitions ?? DEFAULT_PARTITIONS,
      host: (kind) => this.hosts.get(kind),
    });
    this.gauges = {
      owned: () => [...this.hosts.values()].map((h): [Record<string, string>, number] => [{ kind: h.name }, h.servingSlots().length]),
      active: () => [...this.hosts.values()].map((h): [Record<string, string>, number] => [{ kind: h.name }, h.stats().activeActors]),
    };
  }

  /** Makes a kind known (to send to it) and, when this system hosts, served here. Before start() only. */
  register<S, C, R, E>(kind: ActorKind<S, C, R, E>): this {
    if (this.state !== 'new') throw new Error('ActorSystem.register() must be called before start()');
    assertKindName(kind.name);
    if (this.kinds.has(kind.name)) throw new Error(`Actor kind ${kind.name} is registered twice`);
    const p = kind.partitions ?? DEFAULT_PARTITIONS;
    if (!Number.isInteger(p) || p < 1 || p > 4096) throw new Error(`Actor kind ${kind.name}: partitions must be an integer in 1..4096`);
    this.kinds.set(kind.name, kind as unknown as AnyActorKind);
    this.listeners.set(kind.name, new Set());
    return this;
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('ActorSystem.start() called twice');
    await this.checkPartitionCounts();
    this.state = 'started';
    const { kernel, options } = this;
    await this.client.start();
    if (!options.hosting) return;
    const gate = new Gate(options.pgConcurrency);
    for (const kind of this.kinds.values()) {
      const blocking = kernel.redis.blocking(`actors-${kind.name}`);
      this.blocking.push(blocking);
      const deps = { sql: kernel.sql, cmd: kernel.redis.cmd, keys: kernel.keys, log: kernel.log, metrics: this.metrics, hostId: this.id, opts: options };
      const host = new KindHost(kind, { ...deps, blocking, gate, listeners: this.listeners.get(kind.name)! });
      this.hosts.set(kind.name, host);
      this.ownerships.set(kind.name, new Ownership(host, deps));
    }
    if (this.hosts.size === 0) return;
    kernel.redis.sub.on('message', this.onRebalance);
    await kernel.redis.sub.subscribe(...[...this.hosts.keys()].map((k) => kernel.keys.actorRebalance(k)));
    this.metrics.owned.add(this.gauges.owned);
    this.metrics.active.add(this.gauges.active);
    for (const host of this.hosts.values()) host.start();
    await Promise.all([...this.ownerships.values()].map((o) => o.start()));
  }

  /**
   * Graceful stop: leaves the host sets, lets in-flight turns commit (up to `graceMs`), hands every partition over
   * (the others are told at once), then stops reading and replying. Commands still queued here are not lost: stream
   * commands stay pending for the next owner, local ones are re-sent through the stream.
   */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.state !== 'started') {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopped';
    await Promise.all([...this.ownerships.values()].map((o) => o.stop(graceMs)));
    await Promise.all([...this.hosts.values()].map((h) => h.stop()));
    this.kernel.redis.sub.off('message', this.onRebalance);
    if (this.hosts.size > 0) await this.kernel.redis.sub.unsubscribe(...[...this.hosts.keys()].map((k) => this.kernel.keys.actorRebalance(k))).catch(() => undefined);
    await this.client.stop();
    this.metrics.owned.delete(this.gauges.owned);
    this.metrics.active.delete(this.gauges.active);
    for (const b of this.blocking) b.disconnect();
  }

  /** Sends a command and waits for its reply (or the AppError the actor rejected it with; ActorTimeoutError). */
  send<K extends AnyActorKind>(kind: K, id: string, command: CommandOf<K>, opts?: SendOptions): Promise<ReplyOf<K>>;
  send(kind: string, id: string, command: unknown, opts?: SendOptions): Promise<unknown>;
  send(kind: string | AnyActorKind, id: string, command: unknown, opts: SendOptions = {}): Promise<unknown> {
    const name = typeof kind === 'string' ? kind : kind.name;
    if (this.state !== 'started') return Promise.reject(new ActorUnavailableError('Actor system is not running'));
    this.kind(name);
    return this.client.send(name, id, command, opts);
  }

  /** Queues a command without waiting for it to be applied (fire and forget; at-least-once, applied once). */
  tell<K extends AnyActorKind>(kind: K, id: string, command: CommandOf<K>, opts?: Pick<SendOptions, 'commandId'>): Promise<void>;
  tell(kind: string, id: string, command: unknown, opts?: Pick<SendOptions, 'commandId'>): Promise<void>;
  async tell(kind: string | AnyActorKind, id: string, command: unknown, opts: Pick<SendOptions, 'commandId'> = {}): Promise<void> {
    const name = typeof kind === 'string' ? kind : kind.name;
    if (this.state !== 'started') throw new ActorUnavailableError('Actor system is not running');
    this.kind(name);
    return this.client.tell(name, id, command, opts);
  }

  /**
   * Called after each commit of `kind` with every actor it changed (state and events, in order per actor), before
   * the replies go out and the commands are acknowledged. A returned promise is awaited (keep it short: it delays
   * the replies); a throw is logged and does not undo the commit. Returns an unsubscribe function.
   */
  onCommitted(kind: string, fn: CommitListener): () => void {
    const set = this.listeners.get(kind);
    if (!set) throw new Error(`Unknown actor kind ${kind}`);
    set.add(fn);
    return () => set.delete(fn);
  }

  partitionOf(kind: string, id: string): number {
    return partitionOf(id, this.kind(kind).partitions ?? DEFAULT_PARTITIONS);
  }

  /** Introspection for tests, metrics and admin views. */
  stats(kind: string): KindStats {
    const h = this.hosts.get(kind);
    const partitions = this.kind(kind).partitions ?? DEFAULT_PARTITIONS;
    return h ? h.stats() : { kind, partitions, owned: [], activeActors: 0, queued: 0, turns: 0, commits: 0, fencedCommits: 0, timersFired: 0, loads: 0, replayed: 0, partitionsLost: 0 };
  }

  /** Whether actor (kind, id) is in memory in this process. */
  isActive(kind: string, id: string): boolean {
    return this.hosts.get(kind)?.isActive(id) ?? false;
  }

  /** Runs an ownership tick now (renew, balance, acquire) instead of at the next period. */
  async rebalance(kind?: string): Promise<void> {
    await Promise.all([...this.ownerships].filter(([k]) => !kind || k === kind).map(([, o]) => o.tick()));
  }

  /**
   * Two processes disagreeing on a kind's partition count would route one actor to two partitions (two writers).
   * The first process to start a kind records its count; a process with another count refuses to start.
   */
  private async checkPartitionCounts(): Promise<void> {
    const r = this.kernel.redis.cmd;
    for (const k of this.kinds.values()) {
      const key = this.kernel.keys.actorPartitionCount(k.name);
      const want = String(k.partitions ?? DEFAULT_PARTITIONS);
      await r.set(key, want, 'NX');
      const have = await r.get(key);
      if (have !== want) {
        throw new Error(`Actor kind ${k.name} is configured with ${want} partitions, but other processes use ${have}; every process must use the same count`);
      }
    }
  }

  private kind(name: string): AnyActorKind {
    const k = this.kinds.get(name);
    if (!k) throw new Error(`Unknown actor kind ${name}: register it with ActorSystem.register()`);
    return k;
  }
}

function resolveOptions(kernel: Kernel, o: ActorSystemOptions): Required<ActorSystemOptions> {
  const leaseTtlMs = o.leaseTtlMs ?? 3_000;
  const renewEveryMs = o.renewEveryMs ?? Math.floor(leaseTtlMs / 3);
  if (renewEveryMs * 2 > leaseTtlMs) throw new Error('ActorSystem: renewEveryMs must be at most half of leaseTtlMs');
  const host = os.hostname().toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 24);
  const hostId = o.hostId ?? `${host}-${process.pid}-${newId().slice(0, 6)}`;
  if (!/^[A-Za-z0-9_.:-]{1,100}$/.test(hostId)) throw new Error('ActorSystem: hostId must match [A-Za-z0-9_.:-]{1,100}');
  return {
    hostId,
    hosting: o.hosting ?? true,
    leaseTtlMs,
    renewEveryMs,
    maxTurnsPerRound: o.maxTurnsPerRound ?? 128,
    maxBatchTurns: o.maxBatchTurns ?? 512,
    maxConcurrentCommits: o.maxConcurrentCommits ?? 2,
    readCount: o.readCount ?? 256,
    timerPollMs: o.timerPollMs ?? 250,
    passivateAfterMs: o.passivateAfterMs ?? 5 * 60_000,
    commandRetentionMs: o.commandRetentionMs ?? 24 * 3_600_000,
    maxQueued: o.maxQueued ?? 20_000,
    defaultTimeoutMs: o.defaultTimeoutMs ?? 10_000,
    pgConcurrency: o.pgConcurrency ?? Math.max(2, Math.min(8, Math.floor(kernel.config.PG_POOL_MAX / 4))),
  };
}
