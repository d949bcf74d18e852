import { randomUUID } from 'node:crypto';
import type { Logger } from '../../runtime/log.ts';
import type { Batch, StreamHub } from '../../runtime/streams/hub.ts';
import { StreamReader, type ReaderDeps, type ReaderSink } from '../../runtime/streams/reader.ts';
import type { HistoryGone, StreamEvent } from '../../runtime/streams/types.ts';
import type { WsBroker, WsConn, WsHandler } from '../ws.ts';

/**
 * WebSocket transport for an entity stream, speaking the original's protocol (spec 3.8):
 *   server -> client  {"type":"connected","data":{connectionId,lastEventId}}
 *                     {"type":"replay","data":{"events":[...],"count":k}}      (catch-up, any length, in pages)
 *                     {"type":<t>,"data":<obj>,"eventId":n,"event_id":"n","created_at":iso}   (live)
 *                     {"type":"heartbeat","timestamp":ms}                      (every 30 s)
 *                     {"type":"history_gone","data":{requested_after,first_available}}
 *   client -> server  "ping" -> "pong"; {"type":"subscribe","runId"} -> {"type":"subscribed",...}
 *
 * Each socket first catches up through its own StreamReader (exact resume, no gap, no duplicate). Once it is in
 * step with what this node has dispatched, it joins the entity's uWS topic and the reader is dropped: from then on
 * one node-level listener publishes each event once and uWS copies it to every socket in C++, which is what makes
 * 1,000 subscribers cheap (perf/ceilings.md: ~0.25 us per delivery batched).
 */
export interface WsStreamOptions {
  kind: string;
  id: string;
  afterId: number;
  /** The entity's current last event id, reported in `connected`. */
  lastEventId: number;
  deps: ReaderDeps;
  topics: StreamTopics;
  log: Logger;
  /** Name used in the subscribe message (`runId` for runs). */
  subscribeKey?: string;
}

const HEARTBEAT_TOPIC = '__takos_heartbeat';

export const wsEventFrame = (e: StreamEvent) =>
  JSON.stringify({ type: e.type, data: e.data, eventId: e.id, event_id: String(e.id), created_at: e.created_at });

function framesOf(batch: Batch): string[] {
  let frames = batch.memo.get('ws') as string[] | undefined;
  if (frames === undefined) batch.memo.set('ws', (frames = batch.events.map(wsEventFrame)));
  return frames;
}

/** One node-level listener per watched entity, publishing its live events to the entity's uWS topic. */
class TopicBridge {
  refs = 0;
  readonly onTopic = new Set<WsConn>();
  unsubscribe: (() => void) | null = null;
  ready: Promise<void>;

  constructor(hub: StreamHub, broker: WsBroker, kind: string, id: string, readonly topic: string) {
    this.ready = hub
      .subscribe(kind, id, {
        onBatch: (batch) => {
          if (this.onTopic.size === 0) return;
          for (const f of framesOf(batch)) broker.publish(topic, f);
        },
        // The node lost events it could not recover: sockets on the topic reconnect and resume by id.
        onResync: () => {
          for (const c of this.onTopic) c.end(4001, 'reconnect-suggested');
          this.onTopic.clear();
        },
      })
      .then((u) => {
        this.unsubscribe = u;
      });
  }

  /** Ends the hub listener, once it exists (the hub's unsubscribe is idempotent). */
  stop(): void {
    void this.ready.then(() => this.unsubscribe?.());
  }
}

/**
 * The topic side of one server's WebSocket streams: a ref-counted bridge per watched entity and the heartbeat every
 * socket is subscribed to. Created by the HTTP server (one per uWS app) and closed with it.
 */
export class StreamTopics {
  private readonly bridges = new Map<string, TopicBridge>();
  private heartbeat: NodeJS.Timeout | null = null;

  constructor(readonly broker: WsBroker) {}

  bridge(hub: StreamHub, kind: string, id: string): TopicBridge {
    if (!this.heartbeat) {
      this.heartbeat = setInterval(() => this.broker.publish(HEARTBEAT_TOPIC, JSON.stringify({ type: 'heartbeat', timestamp: Date.now() })), 30_000);
      this.heartbeat.unref();
    }
    const topic = `${kind}:${id}`;
    let b = this.bridges.get(topic);
    if (!b) this.bridges.set(topic, (b = new TopicBridge(hub, this.broker, kind, id, topic)));
    b.refs++;
    return b;
  }

  release(b: TopicBridge): void {
    if (--b.refs > 0) return;
    this.bridges.delete(b.topic);
    b.stop();
  }

  /** Stops the heartbeat and every hub listener (sockets still open are being closed by the server). */
  close(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    for (const b of this.bridges.values()) b.stop();
    this.bridges.clear();
  }
}

/**
 * One socket's stream. A class (its own reader sink) rather than closures: an idle subscriber stays in memory as
 * long as the client does, and under tsx every closure stored in a variable or property costs ~250 B more. Once the
 * socket is on the topic, the reader and the request's stream deps are dropped; what is left per socket is this
 * object, its UwsConn and the uWS socket. JS heap per idle WebSocket subscriber, bench/streams "memory" at 10,000:
 * 3.5 KiB with closures and the options kept; 0.36 KiB now.
 */
class WsStreamConnection implements WsHandler, ReaderSink {
  private reader: StreamReader | null = null;
  private bridge: TopicBridge | null = null;
  private conn: WsConn | null = null;
  private switchQueued = false;
  private deps: ReaderDeps | null;
  private readonly hub: StreamHub;
  private readonly kind: string;
  private readonly id: string;
  private readonly topics: StreamTopics;
  private readonly log: Logger;
  private readonly subscribeKey: string;
  private readonly afterId: number;
  private readonly lastEventId: number;

  constructor(o: WsStreamOptions) {
    this.deps = o.deps;
    this.hub = o.deps.hub;
    this.kind = o.kind;
    this.id = o.id;
    this.topics = o.topics;
    this.log = o.log;
    this.subscribeKey = o.subscribeKey ?? 'id';
    this.afterId = o.afterId;
    this.lastEventId = o.lastEventId;
  }

  open(c: WsConn): void {
    this.conn = c;
    c.subscribe(HEARTBEAT_TOPIC);
    c.send(JSON.stringify({ type: 'connected', data: { connectionId: randomUUID(), lastEventId: this.lastEventId } }));
    const bridge = (this.bridge = this.topics.bridge(this.hub, this.kind, this.id));
    const r = (this.reader = new StreamReader(this.deps!, this.kind, this.id, this.afterId, this));
    void bridge.ready.then(() => r.start()).catch((err: unknown) => this.log.warn({ err }, 'WebSocket reader failed to start'));
  }

  message(c: WsConn, text: string | null): void {
    if (text === null) return;
    if (text === 'ping') {
      c.send('pong');
      return;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    const m = msg as { type?: unknown } & Record<string, unknown>;
    if (m.type === 'subscribe') {
      const key = this.subscribeKey;
      if (m[key] !== undefined && m[key] !== this.id) c.send(JSON.stringify({ type: 'error', data: { message: `${key} mismatch` } }));
      else c.send(JSON.stringify({ type: 'subscribed', data: { [key]: this.id } }));
    } else if (m.type === 'ping') c.send(JSON.stringify({ type: 'pong', timestamp: Date.now() }));
  }

  close(): void {
    this.reader?.close();
    this.reader = null;
    if (this.bridge) {
      if (this.conn) this.bridge.onTopic.delete(this.conn);
      this.topics.release(this.bridge);
      this.bridge = null;
    }
  }

  // ReaderSink: the catch-up phase and, until the socket joins the topic, live batches.
  deliver(events: StreamEvent[], batch: Batch | null, phase: 'replay' | 'live'): void {
    const c = this.conn!;
    if (phase === 'replay') {
      c.send(JSON.stringify({ type: 'replay', data: { events: events.map((e) => ({ ...e, event_id: String(e.id), timestamp: Date.parse(e.created_at) })), count: events.length } }));
      return;
    }
    for (const f of batch ? framesOf(batch) : events.map(wsEventFrame)) c.send(f);
  }

  historyGone(info: HistoryGone): void {
    this.conn!.send(JSON.stringify({ type: 'history_gone', data: info }));
  }

  caughtUp(): void {
    this.maybeJoinTopic();
  }

  afterBatch(): void {
    this.maybeJoinTopic();
  }

  error(err: unknown): void {
    this.log.warn({ err, kind: this.kind, id: this.id }, 'WebSocket stream failed');
    this.conn!.end(1011, 'stream error; reconnect with last_event_id');
  }

  // Join the topic only when this socket has exactly what the node has dispatched, so the topic neither repeats
  // an event the reader sent nor skips one. Checked in a microtask, after the hub's synchronous dispatch loop.
  private maybeJoinTopic(): void {
    if (this.switchQueued) return;
    this.switchQueued = true;
    queueMicrotask(() => {
      this.switchQueued = false;
      const { reader, conn, bridge } = this;
      if (!reader || !conn || conn.closed || !bridge) return;
      const last = this.hub.lastDispatched(this.kind, this.id);
      if (last === null || !reader.isLive || last !== reader.lastSent) return;
      conn.subscribe(bridge.topic);
      bridge.onTopic.add(conn);
      reader.close();
      this.reader = null;
      this.deps = null;
    });
  }
}

export function wsStreamHandler(o: WsStreamOptions): WsHandler {
  return new WsStreamConnection(o);
}
