import type { Redis } from 'ioredis';
import type { RedisKeys } from '../keys.ts';
import type { Logger } from '../log.ts';
import type { EventHistory, StreamEvent } from './types.ts';

/**
 * One web process's view of live event streams: at most one Redis SUBSCRIBE per entity however many local clients
 * watch it, one JSON.parse per batch, and in-order, contiguous dispatch per entity.
 *
 * Ordering: batches are dispatched strictly in id order with no duplicate. When a batch arrives with a gap (a
 * publish lost while the subscriber reconnected, or a writer that crashed between commit and publish), the hub
 * reads the missing events from history first and holds later batches until the gap is filled. After a Redis
 * reconnect every stream is told to resynchronise (`onResync`), since anything published meanwhile was lost.
 */
export interface Batch {
  events: StreamEvent[];
  /** Frames rendered once per batch and shared by every connection that receives the whole batch. */
  memo: Map<string, unknown>;
}

export interface HubListener {
  onBatch(batch: Batch): void;
  onResync?(): void;
}

interface Channel {
  kind: string;
  id: string;
  listeners: Set<HubListener>;
  /** Highest id dispatched on this node; null until the first batch. */
  lastId: number | null;
  queue: StreamEvent[][];
  filling: boolean;
  ready: Promise<unknown>;
}

export class StreamHub {
  private readonly channels = new Map<string, Channel>();
  private readonly histories = new Map<string, EventHistory>();

  constructor(
    private readonly sub: Redis,
    private readonly keys: RedisKeys,
    private readonly log: Logger,
  ) {
    sub.on('message', (ch: string, msg: string) => {
      const c = this.channels.get(ch);
      if (!c) return;
      let events: StreamEvent[];
      try {
        events = JSON.parse(msg) as StreamEvent[];
      } catch (err) {
        this.log.warn({ err, ch }, 'malformed event batch');
        return;
      }
      c.queue.push(events);
      this.drain(ch, c);
    });
    sub.on('ready', () => {
      for (const c of this.channels.values()) for (const l of c.listeners) l.onResync?.();
    });
  }

  /** Durable history per kind, used to fill gaps. */
  registerHistory(kind: string, history: EventHistory): void {
    this.histories.set(kind, history);
  }

  /** Starts receiving an entity's batches; resolves once the Redis subscription is active. */
  async subscribe(kind: string, id: string, listener: HubListener): Promise<() => void> {
    const ch = this.keys.eventChannel(kind, id);
    let c = this.channels.get(ch);
    if (!c) {
      c = { kind, id, listeners: new Set(), lastId: null, queue: [], filling: false, ready: this.sub.subscribe(ch) };
      this.channels.set(ch, c);
    }
    c.listeners.add(listener);
    await c.ready;
    return () => this.unsubscribe(kind, id, listener);
  }

  /**
   * Stops delivering to `listener` (what the function returned by subscribe() does; long-lived listeners call this
   * instead of keeping that closure, one per client). The Redis subscription ends with the entity's last listener.
   */
  unsubscribe(kind: string, id: string, listener: HubListener): void {
    const ch = this.keys.eventChannel(kind, id);
    const c = this.channels.get(ch);
    if (!c || !c.listeners.delete(listener) || c.listeners.size > 0) return;
    this.channels.delete(ch);
    void this.sub.unsubscribe(ch).catch(() => {});
  }

  /**
   * Events this process has just committed, handed to its own listeners at once instead of after their round trip
   * through Redis (append + PUBLISH + the subscriber connection's delivery): the published copy arrives later and is
   * dropped by id like any repeat. Only for committed events (a gap is filled from the durable history).
   */
  deliverCommitted(kind: string, id: string, events: StreamEvent[]): void {
    const ch = this.keys.eventChannel(kind, id);
    const c = this.channels.get(ch);
    if (!c || events.length === 0) return;
    c.queue.push(events);
    this.drain(ch, c);
  }

  /** Highest id this node has dispatched for the entity, or null. */
  lastDispatched(kind: string, id: string): number | null {
    return this.channels.get(this.keys.eventChannel(kind, id))?.lastId ?? null;
  }

  get channelCount(): number {
    return this.channels.size;
  }

  private drain(ch: string, c: Channel): void {
    if (c.filling) return;
    while (c.queue.length > 0) {
      const raw = c.queue.shift()!;
      const events = c.lastId === null ? raw : raw.filter((e) => e.id > c.lastId!);
      if (events.length === 0) continue;
      if (c.lastId !== null && events[0]!.id !== c.lastId + 1) {
        c.queue.unshift(events);
        void this.fill(ch, c);
        return;
      }
      this.dispatch(c, events);
    }
  }

  private dispatch(c: Channel, events: StreamEvent[]): void {
    c.lastId = events[events.length - 1]!.id;
    const batch: Batch = { events, memo: new Map() };
    for (const l of c.listeners) {
      try {
        l.onBatch(batch);
      } catch (err) {
        this.log.warn({ err }, 'stream listener failed');
      }
    }
  }

  private async fill(ch: string, c: Channel): Promise<void> {
    const history = this.histories.get(c.kind);
    c.filling = true;
    try {
      const upTo = c.queue[0]![0]!.id;
      if (history) {
        let after = c.lastId!;
        while (after < upTo - 1) {
          const got = (await history.readAfter(c.id, after, Math.min(500, upTo - 1 - after))).filter((e) => e.id < upTo);
          if (got.length === 0) break;
          this.dispatch(c, got);
          after = c.lastId!;
        }
      }
      if (c.lastId! < upTo - 1) {
        // History cannot fill the gap (no history registered, or retention removed it): move on and let readers,
        // which check contiguity themselves, resynchronise.
        this.log.warn({ kind: c.kind, id: c.id, from: c.lastId, to: upTo }, 'stream gap could not be filled');
        c.lastId = upTo - 1;
        for (const l of c.listeners) l.onResync?.();
      }
    } catch (err) {
      this.log.warn({ err }, 'filling a stream gap failed');
      c.lastId = null;
    } finally {
      c.filling = false;
      if (this.channels.get(ch) === c) this.drain(ch, c);
    }
  }
}
