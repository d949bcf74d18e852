import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import { compareStreamIds } from './envelope.ts';
import { scripts, type RawEntry } from './scripts.ts';

/**
 * Partition inboxes: one Redis stream per (kind, partition), one consumer group `owners`, one consumer per actor
 * system (its host id). Senders XADD; the owner reads all its partitions of a kind with ONE blocking XREADGROUP
 * connection (ioredis: a blocking read needs a connection of its own, perf/ceilings.md), applies, commits, then
 * acknowledges and deletes the entries (ackCommands-1.lua). Unacknowledged entries are what a new owner replays.
 */
export const GROUP = 'owners';

type Entries = Array<[string, string[] | null]>;

/**
 * XREADGROUP replies per stream. RESP2 answers [[key, entries], ...]; RESP3 (ioredis' default protocol) answers a
 * map, which ioredis' legacy mapping flattens to [key, entries, key, entries, ...].
 */
function perStream(res: unknown): Array<[string, Entries]> {
  if (!Array.isArray(res) || res.length === 0) return [];
  if (typeof res[0] === 'string') {
    const out: Array<[string, Entries]> = [];
    for (let i = 0; i + 1 < res.length; i += 2) out.push([res[i] as string, res[i + 1] as Entries]);
    return out;
  }
  return res as Array<[string, Entries]>;
}

export interface ReaderOptions {
  consumer: string;
  count: number;
  blockMs: number;
  /** Streams to read now (the partitions this process serves), each with a token identifying that ownership. */
  streams: () => Array<{ key: string; partition: number; token: object }>;
  /** Entries read for `partition` while it was owned as `token` (the host drops them if that ownership ended). */
  onEntries: (partition: number, token: object, entries: Entries) => void;
  /** Backpressure: too much queued in memory; stop reading until wake(). */
  paused: () => boolean;
  /** XREADGROUP said NOGROUP (Redis lost the group): recreate groups of these partitions. */
  onNoGroup: (partitions: number[]) => Promise<void>;
  log: Logger;
}

/**
 * The blocking read loop of one kind. When the set of partitions changes, `restart()` interrupts the blocked read
 * with CLIENT UNBLOCK (from the command connection) instead of waiting out the block time, and resolves once the
 * interrupted read has returned and its entries were dispatched: after that, no entry of a released partition can
 * still arrive through this reader.
 */
export class InboxReader {
  private clientId: number | null = null;
  private idStale = true;
  private stopped = true;
  private reading = false;
  private wakeUp: (() => void) | null = null;
  private passWaiters: Array<() => void> = [];
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly conn: Redis,
    private readonly cmd: Redis,
    private readonly o: ReaderOptions,
  ) {
    conn.on('ready', () => (this.idStale = true));
  }

  start(): void {
    this.stopped = false;
    this.done = this.loop();
  }

  wake(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  async restart(): Promise<void> {
    if (!this.reading) {
      this.wake();
      return;
    }
    const passed = new Promise<void>((resolve) => this.passWaiters.push(resolve));
    this.unblock();
    await passed;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    this.unblock();
    await this.done;
  }

  private unblock(): void {
    if (this.clientId !== null) this.cmd.call('CLIENT', 'UNBLOCK', this.clientId).catch(() => undefined);
  }

  private passed(): void {
    for (const w of this.passWaiters.splice(0)) w();
  }

  private async loop(): Promise<void> {
    let backoff = 50;
    while (!this.stopped) {
      const streams = this.o.streams();
      if (streams.length === 0 || this.o.paused()) {
        this.passed();
        await new Promise<void>((resolve) => {
          this.wakeUp = resolve;
          setTimeout(resolve, this.o.blockMs).unref();
        });
        this.wakeUp = null;
        continue;
      }
      const byKey = new Map(streams.map((s) => [s.key, s]));
      if (this.idStale) {
        // Written before the XREADGROUP on the same connection, so it answers before the read blocks.
        this.idStale = false;
        this.conn.call('CLIENT', 'ID').then(
          (id) => (this.clientId = Number(id)),
          () => (this.idStale = true),
        );
      }
      this.reading = true;
      let res: unknown;
      try {
        const keys = [...byKey.keys()];
        res = await this.conn.call('XREADGROUP', 'GROUP', GROUP, this.o.consumer, 'COUNT', this.o.count, 'BLOCK', this.o.blockMs, 'STREAMS', ...keys, ...keys.map(() => '>'));
        backoff = 50;
      } catch (err) {
        this.reading = false;
        this.passed();
        if (this.stopped) break;
        if (String((err as Error).message).includes('NOGROUP')) {
          await this.o.onNoGroup([...byKey.values()].map((x) => x.partition)).catch((e: unknown) => this.o.log.warn({ err: e }, 'recreating actor consumer groups failed'));
        } else {
          this.o.log.warn({ err }, 'actor inbox read failed; retrying');
          await new Promise((r) => setTimeout(r, backoff).unref());
          backoff = Math.min(backoff * 2, 2000);
        }
        continue;
      }
      this.reading = false;
      for (const [key, entries] of perStream(res)) {
        const s = byKey.get(key);
        if (s && entries.length > 0) this.o.onEntries(s.partition, s.token, entries);
      }
      this.passed();
    }
    this.passed();
  }
}

/**
 * Everything a new owner must replay, in stream order: other consumers' pending entries (claimed), then this
 * consumer's own pending entries (from an earlier ownership of the same process), then the backlog nobody has read.
 * `deliver` is called in order; deleted entries come with null fields (the caller acknowledges them).
 */
export async function replayPartition(
  cmd: Redis,
  stream: string,
  consumer: string,
  count: number,
  deliver: (entries: Entries, claimed: boolean) => void,
): Promise<void> {
  await ensureGroup(cmd, stream);
  const pending: Entries = [];
  // Own pending entries first: claiming foreign ones adds them to this consumer's pending list too.
  for (let last = '0'; ; ) {
    const entries = perStream(await cmd.call('XREADGROUP', 'GROUP', GROUP, consumer, 'COUNT', 1000, 'STREAMS', stream, last))[0]?.[1] ?? [];
    pending.push(...entries);
    if (entries.length < 1000) break;
    last = entries[entries.length - 1]![0];
  }
  for (;;) {
    const got = await scripts.claimPending(cmd, stream, GROUP, consumer, 1000);
    pending.push(...(got as RawEntry[]));
    if (got.length < 1000) break;
  }
  pending.sort((a, b) => compareStreamIds(a[0], b[0]));
  if (pending.length > 0) deliver(pending, true);
  for (;;) {
    const entries = perStream(await cmd.call('XREADGROUP', 'GROUP', GROUP, consumer, 'COUNT', count, 'STREAMS', stream, '>'))[0]?.[1] ?? [];
    if (entries.length > 0) deliver(entries, false);
    if (entries.length < count) break;
  }
}

/** Creates the consumer group (reading from the start of the stream) unless it exists. */
export async function ensureGroup(cmd: Redis, stream: string): Promise<void> {
  try {
    await cmd.call('XGROUP', 'CREATE', stream, GROUP, '0', 'MKSTREAM');
  } catch (err) {
    if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
  }
}

/** Foreign pending entries of a partition this process already owns (a zombie's late reads): claim and replay. */
export async function sweepForeign(cmd: Redis, stream: string, consumer: string): Promise<Entries> {
  const got = (await scripts.claimPending(cmd, stream, GROUP, consumer, 1000)) as RawEntry[];
  return got.sort((a, b) => compareStreamIds(a[0], b[0]));
}
