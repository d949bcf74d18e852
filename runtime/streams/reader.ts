import type { Batch, HubListener, StreamHub } from './hub.ts';
import type { EventTail } from './tail.ts';
import type { EventHistory, HistoryGone, StreamEvent } from './types.ts';

/**
 * One client's view of one entity's stream, independent of the transport (SSE, WebSocket, long-poll).
 *
 *   subscribe to the node's live batches (buffered while catching up)
 *   -> read history after the client's last id: Redis tail first, Postgres when the tail does not reach back
 *   -> replay it, then drain the buffered live batches, skipping what was already sent
 *   -> live
 *
 * Every delivery is checked for contiguity against `lastSent`: a live batch that does not start at lastSent + 1
 * sends the reader back to catching up, so the client sees each event exactly once, in order. If the history
 * itself no longer reaches back (retention), the sink is told explicitly before the stream continues.
 */
export interface ReaderSink {
  /** `batch` is given when `events` is a whole live batch, so rendered frames can be shared across connections. */
  deliver(events: StreamEvent[], batch: Batch | null, phase: 'replay' | 'live'): void;
  historyGone(info: HistoryGone): void;
  /** Replay is done and the reader is live. */
  caughtUp?(): void;
  /** Called after each live batch was handled (delivered or found to be already sent). */
  afterBatch?(): void;
  error(err: unknown): void;
}

export interface ReaderDeps {
  hub: StreamHub;
  tail: EventTail;
  history: EventHistory;
}

const PAGE = 500;

export class StreamReader implements HubListener {
  lastSent: number;
  private catching = true;
  private running = false;
  private closed = false;
  private pending: StreamEvent[][] = [];
  // The three services, not the caller's deps object: a reader lives as long as its client, and routes build that
  // object per request (a per-connection object with a hidden class of its own, ~250 B; bench/streams "memory").
  private readonly hub: StreamHub;
  private readonly tail: EventTail;
  private readonly history: EventHistory;

  constructor(
    deps: ReaderDeps,
    readonly kind: string,
    readonly id: string,
    afterId: number,
    private readonly sink: ReaderSink,
  ) {
    this.lastSent = afterId;
    this.hub = deps.hub;
    this.tail = deps.tail;
    this.history = deps.history;
  }

  async start(): Promise<void> {
    await this.hub.subscribe(this.kind, this.id, this);
    if (this.closed) {
      this.hub.unsubscribe(this.kind, this.id, this);
      return;
    }
    await this.catchUp();
  }

  get isLive(): boolean {
    return !this.catching;
  }

  onBatch(batch: Batch): void {
    if (this.closed) return;
    if (this.catching) this.pending.push(batch.events);
    else {
      this.live(batch.events, batch);
      if (!this.catching) this.sink.afterBatch?.();
    }
  }

  onResync(): void {
    if (this.closed) return;
    this.catching = true;
    this.kick();
  }

  close(): void {
    this.closed = true;
    // Idempotent, and right even while start() awaits the subscription (the listener is registered synchronously).
    this.hub.unsubscribe(this.kind, this.id, this);
  }

  private live(events: StreamEvent[], batch: Batch | null): void {
    const fresh = events[0]!.id > this.lastSent ? events : events.filter((e) => e.id > this.lastSent);
    if (fresh.length === 0) return;
    if (fresh[0]!.id !== this.lastSent + 1) {
      this.catching = true;
      this.pending.push(fresh);
      this.kick();
      return;
    }
    this.lastSent = fresh[fresh.length - 1]!.id;
    this.sink.deliver(fresh, fresh === events ? batch : null, 'live');
  }

  private kick(): void {
    if (!this.running) void this.catchUp();
  }

  private async catchUp(): Promise<void> {
    this.running = true;
    try {
      while (!this.closed) {
        for (;;) {
          const events = await this.readHistory(this.lastSent);
          if (this.closed) return;
          if (events.length === 0) break;
          this.lastSent = events[events.length - 1]!.id;
          this.sink.deliver(events, null, 'replay');
          if (events.length < PAGE) break;
        }
        this.catching = false;
        const queued = this.pending;
        this.pending = [];
        for (let i = 0; i < queued.length; i++) {
          this.live(queued[i]!, null);
          if (this.catching) {
            this.pending.push(...queued.slice(i + 1));
            break;
          }
        }
        if (!this.catching) break;
      }
      if (!this.closed) this.sink.caughtUp?.();
    } catch (err) {
      if (!this.closed) this.sink.error(err);
    } finally {
      this.running = false;
    }
  }

  private async readHistory(after: number): Promise<StreamEvent[]> {
    const fromTail = await this.tail.readAfter(this.kind, this.id, after, PAGE);
    if (fromTail) return fromTail;
    const events = await this.history.readAfter(this.id, after, PAGE);
    if (events.length > 0 && events[0]!.id > after + 1) this.sink.historyGone({ requested_after: after, first_available: events[0]!.id });
    return events;
  }
}
