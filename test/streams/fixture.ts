import WebSocket from 'ws';
import { createHttpServer, type HttpServer } from '../../http/server.ts';
import { reply } from '../../http/reply.ts';
import { route } from '../../http/route.ts';
import { sseStream } from '../../http/stream/sse.ts';
import { wsStreamHandler } from '../../http/stream/ws-stream.ts';
import { wsRoute } from '../../http/ws.ts';
import type { Kernel } from '../../runtime/kernel.ts';
import type { AppDeps } from '../../http/deps.ts';
import type { EventHistory, StreamEvent } from '../../runtime/streams/types.ts';

/**
 * A stream kind used only by the stream-layer tests: its history is a table of the test database, its writer
 * commits there and then appends to the tail, exactly as an actor does. Served through the real HTTP front.
 */
export const KIND = 'teststream';

export async function createEventTable(k: Kernel) {
  await k.sql`CREATE TABLE IF NOT EXISTS test_stream_events (
    entity_id text NOT NULL, id integer NOT NULL, type text NOT NULL, data jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (entity_id, id))`;
}

export function history(k: Kernel): EventHistory {
  return {
    async readAfter(entityId, afterId, limit) {
      const rows = await k.sql<{ id: number; type: string; data: unknown; created_at: Date }[]>`
        SELECT id, type, data, created_at FROM test_stream_events WHERE entity_id = ${entityId} AND id > ${afterId} ORDER BY id LIMIT ${limit}`;
      return rows.map((r) => ({ id: r.id, type: r.type, data: r.data, created_at: r.created_at.toISOString() }));
    },
  };
}

/** The single writer of one entity: contiguous ids, commit, then tail append + publish. */
export class Writer {
  next = 1;
  constructor(private readonly k: Kernel, readonly entityId: string) {}

  /** Commits `n` events; `publish: false` leaves them only in Postgres (a writer that died before publishing). */
  async append(n: number, opts: { publish?: boolean } = {}): Promise<StreamEvent[]> {
    const events: StreamEvent[] = [];
    for (let i = 0; i < n; i++) {
      const id = this.next++;
      events.push({ id, type: id % 7 === 0 ? 'tool_call' : 'message', data: { seq: id, list: [], text: `event ${id}` }, created_at: new Date().toISOString() });
    }
    await this.k.sql`INSERT INTO test_stream_events ${this.k.sql(events.map((e) => ({ entity_id: this.entityId, id: e.id, type: e.type, data: this.k.sql.json(e.data as Parameters<Kernel["sql"]["json"]>[0]), created_at: e.created_at })))}`;
    if (opts.publish !== false) await this.k.streams.tail.append(KIND, this.entityId, events);
    return events;
  }
}

export async function streamServer(k: AppDeps): Promise<{ server: HttpServer; url: string; wsUrl: string }> {
  const h = history(k);
  k.streams.hub.registerHistory(KIND, h);
  const deps = { hub: k.streams.hub, tail: k.streams.tail, history: h };
  const server = createHttpServer(
    k,
    [
      route({
        method: 'GET',
        path: '/test/streams/:id/sse',
        family: 'test',
        summary: 'test stream over SSE',
        auth: 'none',
        handler: (c) => {
          const last = Number(c.req.headers['last-event-id'] ?? c.req.searchParams.get('last_event_id') ?? 0);
          return sseStream({ kind: KIND, id: c.params.id!, afterId: Number.isInteger(last) && last >= 0 ? last : 0, deps, log: c.log, heartbeatMs: 200 });
        },
      }),
      route({ method: 'GET', path: '/test/streams/:id/ws', family: 'test', summary: 'needs upgrade', auth: 'none', handler: () => reply(426, { error: { code: 'BAD_REQUEST', message: 'Expected WebSocket upgrade' } }) }),
    ],
    [
      wsRoute({
        path: '/test/streams/:id/ws',
        family: 'test',
        summary: 'test stream over WebSocket',
        auth: 'none',
        open: (c, topics) => {
          const last = Number(c.req.searchParams.get('last_event_id') ?? 0);
          return wsStreamHandler({ kind: KIND, id: c.params.id!, afterId: Number.isInteger(last) && last >= 0 ? last : 0, lastEventId: 0, deps, topics, log: c.log, subscribeKey: 'runId' });
        },
      }),
    ],
  );
  const port = await server.listen('127.0.0.1', 0);
  return { server, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}` };
}

export interface SseFrame {
  id?: number;
  event?: string;
  data?: unknown;
  comment?: string;
}

/** A minimal EventSource-like reader over fetch: yields parsed frames, comments included. */
export async function* readSse(url: string, opts: { lastEventId?: number; signal?: AbortSignal; headers?: Record<string, string> } = {}): AsyncGenerator<SseFrame> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.lastEventId !== undefined) headers['last-event-id'] = String(opts.lastEventId);
  const res = await fetch(url, { headers, ...(opts.signal ? { signal: opts.signal } : {}) });
  if (!res.ok || !res.body) throw new Error(`SSE ${res.status}`);
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const f: SseFrame = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) f.comment = line.slice(1).trim();
        else if (line.startsWith('id: ')) f.id = Number(line.slice(4));
        else if (line.startsWith('event: ')) f.event = line.slice(7);
        else if (line.startsWith('data: ')) f.data = JSON.parse(line.slice(6));
      }
      yield f;
    }
  }
}

/** Collects the event ids a WebSocket client receives (replay and live), in arrival order. */
export function wsClient(url: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, { headers });
  const ids: number[] = [];
  const messages: Array<Record<string, unknown>> = [];
  const texts: string[] = [];
  ws.on('message', (raw) => {
    const t = raw.toString();
    texts.push(t);
    if (t === 'pong') return;
    const m = JSON.parse(t) as Record<string, unknown>;
    messages.push(m);
    if (m.type === 'replay') for (const e of (m.data as { events: Array<{ id: number }> }).events) ids.push(e.id);
    else if (typeof m.eventId === 'number') ids.push(m.eventId);
  });
  const closed: { code?: number; reason?: string } = {};
  ws.on('close', (code, reason) => {
    closed.code = code;
    closed.reason = reason.toString();
  });
  ws.on('error', (err) => {
    closed.reason = `error: ${err.message}`;
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, ids, messages, texts, opened, closed };
}

export async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, what: string | (() => string) = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
