import { randomUUID } from 'node:crypto';
import type { Logger } from '../../runtime/log.ts';
import type { Batch, StreamHub } from '../../runtime/streams/hub.ts';
import { StreamReader, type ReaderDeps } from '../../runtime/streams/reader.ts';
import type { StreamEvent } from '../../runtime/streams/types.ts';
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
  broker: WsBroker;
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
}

const bridges = new WeakMap<WsBroker, Map<string, TopicBridge>>();
const heartbeats = new WeakMap<WsBroker, NodeJS.Timeout>();

function bridgeFor(o: WsStreamOptions): TopicBridge {
  let m = bridges.get(o.broker);
  if (!m) bridges.set(o.broker, (m = new Map()));
  if (!heartbeats.has(o.broker)) {
    const t = setInterval(() => o.broker.publish(HEARTBEAT_TOPIC, JSON.stringify({ type: 'heartbeat', timestamp: Date.now() })), 30_000);
    t.unref();
    heartbeats.set(o.broker, t);
  }
  const topic = `${o.kind}:${o.id}`;
  let b = m.get(topic);
  if (!b) m.set(topic, (b = new TopicBridge(o.deps.hub, o.broker, o.kind, o.id, topic)));
  b.refs++;
  return b;
}

function releaseBridge(o: WsStreamOptions, b: TopicBridge): void {
  if (--b.refs > 0) return;
  bridges.get(o.broker)?.delete(b.topic);
  void b.ready.then(() => b.unsubscribe?.());
}

export function wsStreamHandler(o: WsStreamOptions): WsHandler {
  let reader: StreamReader | null = null;
  let bridge: TopicBridge | null = null;
  let conn: WsConn | null = null;
  let switchQueued = false;

  // Join the topic only when this socket has exactly what the node has dispatched, so the topic neither repeats
  // an event the reader sent nor skips one. Checked in a microtask, after the hub's synchronous dispatch loop.
  const maybeJoinTopic = () => {
    if (switchQueued) return;
    switchQueued = true;
    queueMicrotask(() => {
      switchQueued = false;
      if (!reader || !conn || conn.closed || !bridge) return;
      const last = o.deps.hub.lastDispatched(o.kind, o.id);
      if (last === null || !reader.isLive || last !== reader.lastSent) return;
      conn.subscribe(bridge.topic);
      bridge.onTopic.add(conn);
      reader.close();
      reader = null;
    });
  };

  return {
    open(c) {
      conn = c;
      c.subscribe(HEARTBEAT_TOPIC);
      c.send(JSON.stringify({ type: 'connected', data: { connectionId: randomUUID(), lastEventId: o.lastEventId } }));
      bridge = bridgeFor(o);
      reader = new StreamReader(o.deps, o.kind, o.id, o.afterId, {
        deliver(events, batch, phase) {
          if (phase === 'replay') {
            c.send(JSON.stringify({ type: 'replay', data: { events: events.map((e) => ({ ...e, event_id: String(e.id), timestamp: Date.parse(e.created_at) })), count: events.length } }));
            return;
          }
          for (const f of batch ? framesOf(batch) : events.map(wsEventFrame)) c.send(f);
        },
        historyGone(info) {
          c.send(JSON.stringify({ type: 'history_gone', data: info }));
        },
        caughtUp: maybeJoinTopic,
        afterBatch: maybeJoinTopic,
        error(err) {
          o.log.warn({ err, kind: o.kind, id: o.id }, 'WebSocket stream failed');
          c.end(1011, 'stream error; reconnect with last_event_id');
        },
      });
      const r = reader;
      void bridge.ready.then(() => r.start()).catch((err: unknown) => o.log.warn({ err }, 'WebSocket reader failed to start'));
    },
    message(c, text) {
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
        const key = o.subscribeKey ?? 'id';
        if (m[key] !== undefined && m[key] !== o.id) c.send(JSON.stringify({ type: 'error', data: { message: `${key} mismatch` } }));
        else c.send(JSON.stringify({ type: 'subscribed', data: { [key]: o.id } }));
      } else if (m.type === 'ping') c.send(JSON.stringify({ type: 'pong', timestamp: Date.now() }));
    },
    close() {
      reader?.close();
      reader = null;
      if (bridge) {
        if (conn) bridge.onTopic.delete(conn);
        releaseBridge(o, bridge);
        bridge = null;
      }
    },
  };
}
