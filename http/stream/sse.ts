import type { HttpResponse } from 'uWebSockets.js';
import type { Logger } from '../../runtime/log.ts';
import type { Batch } from '../../runtime/streams/hub.ts';
import { StreamReader, type ReaderDeps, type ReaderSink } from '../../runtime/streams/reader.ts';
import type { HistoryGone, StreamEvent } from '../../runtime/streams/types.ts';
import { RawResponder } from '../reply.ts';

/**
 * Server-Sent Events transport for an entity stream. Differences from the original (spec 3.7), on purpose:
 * headers and a first comment are flushed at once (the original's reached the client only with the first frame,
 * up to 30 s later); a heartbeat comment every 15 s instead of 30 s; resume works from the Redis tail and Postgres,
 * not only a per-process ring buffer; a client that cannot keep up is disconnected (it resumes with
 * Last-Event-ID) instead of letting the server buffer without bound.
 *
 * Frames: `id: <n>\nevent: <type>\ndata: <JSON of data>\n\n`; history no longer available:
 * `event: history_gone\ndata: {"requested_after","first_available"}`.
 */
export interface SseOptions {
  kind: string;
  id: string;
  afterId: number;
  deps: ReaderDeps;
  log: Logger;
  heartbeatMs?: number;
  /** Bytes written but not yet accepted by the socket before the client is cut off (default 1 MiB). */
  maxBacklogBytes?: number;
  /** Lets tests and the process count open streams. */
  onOpen?: () => void;
  onClose?: () => void;
}

export const formatSse = (e: StreamEvent) => `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`;

/**
 * One open SSE response. A class rather than a nest of closures (under tsx every closure stored in a variable or
 * property is renamed with Object.defineProperty, ~250 B more each), and heartbeats from one shared ticker rather
 * than a timer per response: an idle response stays in memory as long as its client, so its size is the cost of
 * every viewer of a run. JS heap per idle SSE response, bench/streams "memory" at 10,000: 4.3 KiB with closures, a
 * setInterval and the request kept alive by the abort handler; 1.15 KiB now (with http/server.ts' abortHandler).
 */
class SseConnection implements ReaderSink {
  private written = 0;
  private closed = false;
  readonly reader: StreamReader;
  readonly heartbeatMs: number;
  private readonly kind: string;
  private readonly id: string;
  private readonly log: Logger;
  private readonly maxBacklog: number;
  private readonly onClose: (() => void) | undefined;

  // Neither the options object nor the request's control object is kept (routes build both per request). An abort
  // reaches shutdown() (registered by sseStream), which sets `closed`: `closed` alone says whether `res` may be touched.
  constructor(
    private readonly res: HttpResponse,
    o: SseOptions,
  ) {
    this.reader = new StreamReader(o.deps, o.kind, o.id, o.afterId, this);
    this.heartbeatMs = o.heartbeatMs ?? 15_000;
    this.kind = o.kind;
    this.id = o.id;
    this.log = o.log;
    this.maxBacklog = o.maxBacklogBytes ?? 1024 * 1024;
    this.onClose = o.onClose;
  }

  deliver(events: StreamEvent[], batch: Batch | null): void {
    let frame = batch?.memo.get('sse') as string | undefined;
    if (frame === undefined) {
      frame = events.map(formatSse).join('');
      batch?.memo.set('sse', frame);
    }
    this.write(frame);
  }

  historyGone(info: HistoryGone): void {
    this.write(`event: history_gone\ndata: ${JSON.stringify(info)}\n\n`);
  }

  error(err: unknown): void {
    this.log.warn({ err, kind: this.kind, id: this.id }, 'SSE stream failed');
    if (!this.closed) {
      this.shutdown();
      this.res.cork(() => this.res.end());
    }
  }

  write(chunk: string): void {
    if (this.closed) return;
    this.written += Buffer.byteLength(chunk);
    this.res.cork(() => this.res.write(chunk));
    if (this.written - this.res.getWriteOffset() > this.maxBacklog) {
      this.log.info({ kind: this.kind, id: this.id }, 'SSE client too slow; disconnecting (it resumes by Last-Event-ID)');
      this.shutdown();
      this.res.close();
    }
  }

  shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    heartbeats.remove(this, this.heartbeatMs);
    this.reader.close();
    this.onClose?.();
  }
}

/**
 * One interval per heartbeat period for all SSE responses of the process, instead of one timer per response. Each
 * response still gets a comment at least every period (its first one within a period of connecting).
 */
const heartbeats = {
  byPeriod: new Map<number, { timer: NodeJS.Timeout; conns: Set<SseConnection> }>(),
  add(c: SseConnection, ms: number): void {
    let t = this.byPeriod.get(ms);
    if (!t) {
      const conns = new Set<SseConnection>();
      const timer = setInterval(() => {
        for (const x of conns) x.write(': heartbeat\n\n');
      }, ms);
      timer.unref();
      this.byPeriod.set(ms, (t = { timer, conns }));
    }
    t.conns.add(c);
  },
  remove(c: SseConnection, ms: number): void {
    const t = this.byPeriod.get(ms);
    if (!t?.conns.delete(c) || t.conns.size > 0) return;
    clearInterval(t.timer);
    this.byPeriod.delete(ms);
  },
};

// A closure over the connection only (made here, not inline in sseStream, whose scope also holds the request's
// control object and headers, which the closure would otherwise keep alive for the life of the stream).
const shutdownOf = (c: SseConnection) => () => c.shutdown();

export function sseStream(o: SseOptions): RawResponder {
  return new RawResponder((res, ctl) => {
    const conn = new SseConnection(res, o);
    heartbeats.add(conn, conn.heartbeatMs);
    ctl.onAbort(shutdownOf(conn));
    res.cork(() => {
      res.writeStatus('200 OK');
      for (const [k, v] of Object.entries(ctl.commonHeaders)) res.writeHeader(k, v);
      res.writeHeader('Content-Type', 'text/event-stream; charset=utf-8');
      res.writeHeader('Cache-Control', 'no-cache, no-transform');
      res.writeHeader('Connection', 'keep-alive');
      res.writeHeader('X-Accel-Buffering', 'no');
      res.write(': connected\n\n');
    });
    o.onOpen?.();
    conn.reader.start().catch((err: unknown) => o.log.warn({ err }, 'SSE reader failed to start'));
  });
}
