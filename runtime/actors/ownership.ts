import type { Redis } from 'ioredis';
import type { Sql } from '../db.ts';
import type { RedisKeys } from '../keys.ts';
import type { Logger } from '../log.ts';
import { PartitionSlot } from './cell.ts';
import { pruneCommands } from './commit.ts';
import { claimEpochs, readEpochs } from './fencing.ts';
import type { KindHost } from './host.ts';
import { sweepForeign } from './inbox.ts';
import type { ActorMetrics } from './metrics.ts';
import { fnv1a32 } from './partitions.ts';
import { scripts } from './scripts.ts';
import type { ActorSystemOptions } from './types.ts';

export interface OwnershipDeps {
  sql: Sql;
  cmd: Redis;
  keys: RedisKeys;
  log: Logger;
  metrics: ActorMetrics;
  hostId: string;
  opts: Required<ActorSystemOptions>;
}

/** A partition free for this many consecutive ticks is taken whatever the fair share says (no partition is orphaned). */
const ORPHAN_TICKS = 3;
const SWEEP_EVERY_TICKS = 5;
const PRUNE_EVERY_MS = 60_000;

/**
 * Ownership of one kind's partitions for this process: every `renewEveryMs` one tick
 *   1. beats in the kind's host set (heartbeatHost-1.lua) and learns the live hosts N;
 *   2. renews every lease it holds in one script call (renewLeases.lua); a lease not renewed is lost at once;
 *   3. balances: fair share = ceil(P / N); above it, and while some live host holds less than floor(P / N), it
 *      releases its extras (gracefully: see KindHost.releaseSlot); below it, it takes free partitions
 *      (acquireLeases.lua, then the Postgres epoch claim, then the replay of pending commands);
 *   4. every few ticks, claims commands a zombie consumer took from its partitions, and prunes old command records.
 * Joining, releasing and leaving publish on the kind's rebalance channel, so the others tick at once instead of at
 * their next period: a graceful hand-off takes milliseconds; a crashed owner's partitions move within
 * leaseTtlMs + renewEveryMs (+ one claim), i.e. <= 4 s with the defaults (3 s, 1 s).
 */
export class Ownership {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private balancing: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  private ticks = 0;
  private lastPrune = performance.now();
  private readonly freeStreak = new Map<number, number>();
  private readonly offset: number;

  constructor(
    private readonly host: KindHost,
    private readonly d: OwnershipDeps,
  ) {
    // Hosts start scanning for free partitions at different places, so two joining at once rarely contend.
    this.offset = fnv1a32(d.hostId) % host.partitions;
    host.onFenced = (slot) => this.lost(slot, 'fenced');
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.tick();
    await this.announce();
  }

  /** Runs a tick soon (another host joined or released partitions). */
  poke(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), 0);
  }

  /**
   * One ownership tick, never two at once. Resolves when the tick's renewals are done and, when `settle` is set, its
   * balancing too (start() and rebalance() wait for it; the periodic tick does not, so that a slow Postgres claim
   * can never delay the renewal of the leases already held).
   */
  async tick(settle = true): Promise<void> {
    if (this.running) {
      this.again = true;
      await this.running;
      if (settle) await this.balancing;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.doTick();
        } catch (err) {
          this.d.log.warn({ err, kind: this.host.name }, 'actor ownership tick failed');
        }
      } while (this.again && !this.stopped);
    })();
    try {
      await this.running;
    } finally {
      this.running = null;
      if (!this.stopped) {
        this.timer = setTimeout(() => void this.tick(false), this.d.opts.renewEveryMs);
        this.timer.unref();
      }
    }
    if (settle) await this.balancing;
  }

  /** Leaves the host set and hands every partition over (others are told at once). */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await this.balancing;
    await scripts.heartbeatHost(this.d.cmd, this.d.keys.actorHosts(this.host.name), this.d.hostId, this.d.opts.leaseTtlMs, false).catch(() => undefined);
    const held = this.host.slots.filter((s): s is PartitionSlot => !!s);
    await Promise.all(held.map((s) => this.release(s, graceMs)));
    await this.announce();
  }

  private async doTick(): Promise<void> {
    const { cmd, keys, hostId, opts } = this.d;
    const kind = this.host.name;
    // Bounded: ioredis queues commands while reconnecting; a tick must still get to the expiry check in renew().
    // Not tighter than the lease TTL: on a loaded machine a slow answer is still an answer (a bound of one renewal
    // period made hosts drop leases they held under load, measured in test/actors/crash.test.ts).
    const live = await within(scripts.heartbeatHost(cmd, keys.actorHosts(kind), hostId, opts.leaseTtlMs, true), opts.leaseTtlMs).catch((err: unknown) => {
      this.d.log.warn({ err, kind }, 'actor host heartbeat failed');
      return null;
    });
    await this.renew();
    if (this.stopped || this.balancing || !live) return;
    this.balancing = this.balance(live)
      .catch((err: unknown) => this.d.log.warn({ err, kind }, 'actor partition balancing failed'))
      .finally(() => (this.balancing = null));
  }

  /** Steps 3 and 4 of the tick: release extras or take free partitions; sweep; prune. */
  private async balance(live: string[]): Promise<void> {
    const { cmd, keys, hostId, opts } = this.d;
    const kind = this.host.name;
    const P = this.host.partitions;
    const n = Math.max(1, live.length);
    const share = Math.ceil(P / n);
    const leaseValues = await cmd.mget(Array.from({ length: P }, (_, p) => keys.actorLease(kind, p)));
    const mine = this.host.servingSlots();
    if (mine.length > share) {
      const held = new Map<string, number>();
      for (const v of leaseValues) if (v) held.set(v.split('|')[0]!, (held.get(v.split('|')[0]!) ?? 0) + 1);
      const needy = live.some((h) => h !== hostId && (held.get(h) ?? 0) < Math.floor(P / n));
      if (needy) await this.releaseExtras(mine, mine.length - share);
    } else {
      await this.acquire(leaseValues, share - mine.length);
    }

    if (++this.ticks % SWEEP_EVERY_TICKS === 0) await this.sweep();
    if (performance.now() - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = performance.now();
      const pruned = await pruneCommands(this.d.sql, kind, mine.map((s) => s.partition), opts.commandRetentionMs);
      if (pruned > 0) this.d.log.debug({ kind, pruned }, 'pruned actor command records');
    }
  }

  private async renew(): Promise<void> {
    const held = this.host.slots.filter((s): s is PartitionSlot => !!s);
    if (held.length === 0) return;
    const sentAt = performance.now();
    let ok: boolean[];
    try {
      const leases = held.map((s) => ({ key: this.d.keys.actorLease(this.host.name, s.partition), value: s.leaseValue }));
      // Wait as long as any lease is surely still ours; past that, the ones that expired are dropped below.
      const wait = Math.max(this.d.opts.renewEveryMs, Math.min(...held.map((s) => s.validUntil)) - sentAt);
      ok = await within(scripts.renewLeases(this.d.cmd, leases, this.d.opts.leaseTtlMs), wait);
    } catch (err) {
      // Redis unreachable: keep serving while the leases are surely still ours, then stop (someone may take over).
      const now = performance.now();
      for (const s of held) if (s.validUntil <= now) this.lost(s, 'expired');
      throw err;
    }
    held.forEach((s, i) => {
      if (ok[i]) {
        s.validUntil = sentAt + this.d.opts.leaseTtlMs;
        this.d.metrics.leaseRenewals.inc({ kind: this.host.name });
      } else this.lost(s, 'taken');
    });
  }

  private async acquire(leaseValues: Array<string | null>, want: number): Promise<void> {
    const { cmd, keys, hostId, opts, sql } = this.d;
    const kind = this.host.name;
    const P = this.host.partitions;
    // Leases still naming this host for partitions it no longer serves (dropped after renewals failed, while Redis
    // kept them): give them up now rather than wait for them to expire.
    const stale: Array<{ key: string; value: string }> = [];
    leaseValues.forEach((v, p) => {
      if (v?.startsWith(`${hostId}|`) && !this.host.slots[p]) {
        stale.push({ key: keys.actorLease(kind, p), value: v });
        leaseValues[p] = null;
      }
    });
    if (stale.length > 0) await scripts.releaseLeases(cmd, stale);
    const free: number[] = [];
    for (let i = 0; i < P; i++) {
      const p = (this.offset + i) % P;
      if (!this.host.slots[p] && leaseValues[p] === null) free.push(p);
    }
    const freeSet = new Set(free);
    for (const p of [...this.freeStreak.keys()]) if (!freeSet.has(p)) this.freeStreak.delete(p);
    for (const p of free) this.freeStreak.set(p, (this.freeStreak.get(p) ?? 0) + 1);
    const orphans = free.filter((p) => (this.freeStreak.get(p) ?? 0) >= ORPHAN_TICKS);
    if (free.length === 0 || (want <= 0 && orphans.length === 0)) return;

    const ordered = [...orphans, ...free.filter((p) => !orphans.includes(p))];
    const floors = await readEpochs(sql, kind);
    const validFrom = performance.now();
    const epochs = await scripts.acquireLeases(
      cmd,
      ordered.map((p) => ({ lease: keys.actorLease(kind, p), counter: keys.actorEpoch(kind, p), floor: floors.get(p) ?? 0 })),
      hostId,
      opts.leaseTtlMs,
      Math.max(0, want) + orphans.length,
    );
    const won = ordered.map((partition, i) => ({ partition, epoch: epochs[i] ?? 0 })).filter((w) => w.epoch > 0);
    if (won.length === 0) return;
    const slots = won.map((w) => new PartitionSlot(w.partition, w.epoch, `${hostId}|${w.epoch}`, validFrom + opts.leaseTtlMs));
    let claimed: Set<number>;
    try {
      claimed = await claimEpochs(sql, kind, hostId, won, opts.leaseTtlMs);
    } catch (err) {
      await this.releaseLeases(slots);
      throw err;
    }
    // A larger epoch already in Postgres: Redis lost its keys and another process got there first. Give it back.
    await this.releaseLeases(slots.filter((s) => !claimed.has(s.partition)));
    const mine = slots.filter((s) => claimed.has(s.partition));
    await Promise.all(
      mine.map(async (s) => {
        this.freeStreak.delete(s.partition);
        this.d.metrics.acquisitions.inc({ kind });
        try {
          await this.host.installSlot(s);
        } catch (err) {
          this.d.log.warn({ err, kind, partition: s.partition }, 'replaying an acquired actor partition failed; releasing it');
          this.host.dropSlot(s);
          await this.releaseLeases([s]);
        }
      }),
    );
    this.d.log.debug({ kind, partitions: mine.map((s) => s.partition) }, 'acquired actor partitions');
  }

  private async releaseExtras(mine: PartitionSlot[], count: number): Promise<void> {
    // Cheapest to move first: the partitions with the fewest active actors.
    const chosen = [...mine].sort((a, b) => a.cells.size - b.cells.size).slice(0, count);
    await Promise.all(chosen.map((s) => this.release(s, this.d.opts.leaseTtlMs)));
    await this.announce();
  }

  private async release(slot: PartitionSlot, graceMs: number): Promise<void> {
    await this.host.releaseSlot(slot, graceMs);
    await this.releaseLeases([slot]);
  }

  private async releaseLeases(slots: PartitionSlot[]): Promise<void> {
    const leases = slots.map((s) => ({ key: this.d.keys.actorLease(this.host.name, s.partition), value: s.leaseValue }));
    await scripts.releaseLeases(this.d.cmd, leases).catch((err: unknown) => this.d.log.warn({ err }, 'releasing actor leases failed; they expire on their own'));
  }

  private lost(slot: PartitionSlot, reason: 'taken' | 'expired' | 'fenced'): void {
    if (slot.state === 'gone') return;
    this.d.log.warn({ kind: this.host.name, partition: slot.partition, epoch: slot.epoch, reason }, 'actor partition lost');
    this.d.metrics.leaseLosses.inc({ kind: this.host.name, reason });
    this.host.counts.partitionsLost++;
    this.host.dropSlot(slot);
    if (reason === 'fenced') void this.releaseLeases([slot]);
    this.poke();
  }

  private async sweep(): Promise<void> {
    await Promise.all(
      this.host.activeSlots().map(async (s) => {
        const entries = await sweepForeign(this.d.cmd, this.d.keys.actorInbox(this.host.name, s.partition), this.d.hostId);
        if (entries.length === 0) return;
        this.d.log.info({ kind: this.host.name, partition: s.partition, count: entries.length }, 'claimed commands left pending by another consumer');
        this.host.onStreamEntries(s.partition, entries, true);
      }),
    );
  }

  private async announce(): Promise<void> {
    await this.d.cmd.publish(this.d.keys.actorRebalance(this.host.name), this.d.hostId).catch(() => undefined);
  }
}

/** Rejects when `p` has not settled within `ms` (the operation itself goes on). */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
