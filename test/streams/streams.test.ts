import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../harness.ts';
import { createEventTable, KIND, readSse, streamServer, until, wsClient, Writer, type SseFrame } from './fixture.ts';
import type { HttpServer } from '../../http/server.ts';

let a: TestServer;
let b: TestServer;
let srvA: { server: HttpServer; url: string; wsUrl: string };
let srvB: { server: HttpServer; url: string; wsUrl: string };

beforeAll(async () => {
  a = await startTestServer();
  b = await startTestServer({ attachTo: a });
  await createEventTable(a.kernel);
  srvA = await streamServer(a.deps);
  srvB = await streamServer(b.deps);
});
afterAll(async () => {
  await srvA.server.close(100);
  await srvB.server.close(100);
  await b.close();
  await a.close();
});

async function collectSse(url: string, lastEventId: number, stopAt: number, onFrame?: (f: SseFrame, ids: number[]) => boolean): Promise<{ ids: number[]; frames: SseFrame[] }> {
  const ctl = new AbortController();
  const ids: number[] = [];
  const frames: SseFrame[] = [];
  try {
    for await (const f of readSse(url, { lastEventId, signal: ctl.signal })) {
      frames.push(f);
      if (f.id !== undefined) ids.push(f.id);
      if (onFrame && onFrame(f, ids)) break;
      if (ids.length > 0 && ids[ids.length - 1]! >= stopAt) break;
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  } finally {
    ctl.abort();
  }
  return { ids, frames };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('SSE transport', () => {
  it('flushes headers at once, replays history, then goes live with the same ids', async () => {
    const w = new Writer(a.kernel, 'sse-basic');
    await w.append(5);
    const t0 = Date.now();
    const ctl = new AbortController();
    const res = await fetch(`${srvA.url}/test/streams/sse-basic/sse`, { signal: ctl.signal });
    // Headers arrive without waiting for an event or heartbeat (the original delayed them up to 30 s).
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    ctl.abort();

    const live = collectSse(`${srvA.url}/test/streams/sse-basic/sse`, 2, 9);
    await new Promise((r) => setTimeout(r, 100));
    await w.append(4);
    const { ids, frames } = await live;
    expect(ids).toEqual(range(3, 9));
    const seven = frames.find((f) => f.id === 7)!;
    expect(seven.event).toBe('tool_call');
    expect(seven.data).toEqual({ seq: 7, list: [], text: 'event 7' });
  });

  it('sends heartbeat comments while idle', async () => {
    const { frames } = await collectSse(`${srvA.url}/test/streams/sse-idle/sse`, 0, Infinity, (f) => f.comment === 'heartbeat');
    expect(frames[0]).toEqual({ comment: 'connected' });
    expect(frames.some((f) => f.comment === 'heartbeat')).toBe(true);
  });

  it('a client that disconnects at random points and resumes gets every event exactly once, in order', async () => {
    const w = new Writer(a.kernel, 'sse-resume');
    const total = 400;
    let produced = 0;
    const producer = (async () => {
      while (produced < total) {
        const n = Math.min(total - produced, 1 + Math.floor(Math.random() * 5));
        await w.append(n);
        produced += n;
        await new Promise((r) => setTimeout(r, Math.random() * 3));
      }
    })();
    const received: number[] = [];
    let last = 0;
    let reconnects = 0;
    while (last < total) {
      const cutAfter = 1 + Math.floor(Math.random() * 60);
      let got = 0;
      // Alternate processes: resuming on the other web process must be just as exact.
      const url = (reconnects % 2 === 0 ? srvA.url : srvB.url) + '/test/streams/sse-resume/sse';
      const { ids } = await collectSse(url, last, total, (f) => f.id !== undefined && ++got >= cutAfter);
      received.push(...ids);
      if (ids.length) last = ids[ids.length - 1]!;
      reconnects++;
    }
    await producer;
    expect(reconnects).toBeGreaterThan(3);
    expect(received).toEqual(range(1, total));
  });

  it('resumes from Postgres when the Redis tail no longer reaches back', async () => {
    const w = new Writer(a.kernel, 'sse-deep');
    await w.append(1200); // the tail keeps ~1,000
    const { ids } = await collectSse(`${srvB.url}/test/streams/sse-deep/sse`, 10, 1200);
    expect(ids).toEqual(range(11, 1200));
  });

  it('says so explicitly when the requested history no longer exists, then continues', async () => {
    const w = new Writer(a.kernel, 'sse-gone');
    await w.append(60);
    await a.kernel.sql`DELETE FROM test_stream_events WHERE entity_id = 'sse-gone' AND id <= 50`;
    await a.kernel.redis.cmd.del(a.kernel.keys.eventTail(KIND, 'sse-gone'));
    const { ids, frames } = await collectSse(`${srvA.url}/test/streams/sse-gone/sse`, 10, 60);
    const gone = frames.find((f) => f.event === 'history_gone');
    expect(gone?.data).toEqual({ requested_after: 10, first_available: 51 });
    expect(ids).toEqual(range(51, 60));
  });

  it('fills a gap left by a writer that committed but never published', async () => {
    const w = new Writer(a.kernel, 'sse-gap');
    await w.append(3);
    const live = collectSse(`${srvB.url}/test/streams/sse-gap/sse`, 0, 8);
    await new Promise((r) => setTimeout(r, 150));
    await w.append(2, { publish: false }); // 4, 5 only in Postgres
    await w.append(3); // 6, 7, 8 published: the hub sees a gap and reads 4, 5 from history
    expect((await live).ids).toEqual(range(1, 8));
  });
});

describe('WebSocket transport', () => {
  it('answers 426 to a plain GET', async () => {
    const r = await fetch(`${srvA.url}/test/streams/x/ws`);
    expect(r.status).toBe(426);
  });

  it('connected, replay, then live events on the shared topic, exactly once for many sockets on two processes', async () => {
    const w = new Writer(a.kernel, 'ws-fan');
    await w.append(5);
    const clients = Array.from({ length: 20 }, (_, i) => wsClient(`${i % 2 ? srvA.wsUrl : srvB.wsUrl}/test/streams/ws-fan/ws?last_event_id=2`));
    await Promise.all(clients.map((c) => c.opened));
    await until(() => clients.every((c) => c.ids.length >= 3), 5000, 'replay');
    for (let i = 0; i < 10; i++) await w.append(3);
    await until(() => clients.every((c) => c.ids.length >= 33), 10_000, 'live events');
    for (const c of clients) {
      expect(c.messages[0]).toMatchObject({ type: 'connected' });
      expect(c.messages[1]).toMatchObject({ type: 'replay', data: { count: 3 } });
      expect(c.ids).toEqual(range(3, 35));
    }
    const live = clients[0]!.messages.find((m) => m.eventId === 20)!;
    expect(live).toMatchObject({ type: 'message', event_id: '20', data: { seq: 20 } });
    for (const c of clients) c.ws.close();
  });

  it('ping -> pong and subscribe acknowledgement', async () => {
    const c = wsClient(`${srvA.wsUrl}/test/streams/ws-proto/ws`);
    await c.opened;
    c.ws.send('ping');
    c.ws.send(JSON.stringify({ type: 'subscribe', runId: 'ws-proto' }));
    c.ws.send(JSON.stringify({ type: 'subscribe', runId: 'other' }));
    await until(() => c.texts.includes('pong') && c.messages.filter((m) => m.type === 'subscribed' || m.type === 'error').length === 2);
    expect(c.messages.find((m) => m.type === 'subscribed')).toEqual({ type: 'subscribed', data: { runId: 'ws-proto' } });
    expect(c.messages.find((m) => m.type === 'error')).toEqual({ type: 'error', data: { message: 'runId mismatch' } });
    c.ws.close();
  });

  it('random disconnects and resumes over WebSocket deliver each event exactly once', async () => {
    const w = new Writer(a.kernel, 'ws-resume');
    const total = 300;
    const producer = (async () => {
      for (let done = 0; done < total; ) {
        const n = Math.min(total - done, 1 + Math.floor(Math.random() * 4));
        await w.append(n);
        done += n;
        await new Promise((r) => setTimeout(r, Math.random() * 3));
      }
    })();
    const received: number[] = [];
    let last = 0;
    let rounds = 0;
    while (last < total) {
      const c = wsClient(`${rounds % 2 ? srvA.wsUrl : srvB.wsUrl}/test/streams/ws-resume/ws?last_event_id=${last}`);
      await c.opened;
      const want = 1 + Math.floor(Math.random() * 50);
      await until(() => c.ids.length >= want || (c.ids.length > 0 && c.ids[c.ids.length - 1] === total), 10_000, 'ws events');
      c.ws.close();
      await new Promise((r) => c.ws.once('close', r));
      received.push(...c.ids);
      if (c.ids.length) last = c.ids[c.ids.length - 1]!;
      rounds++;
    }
    await producer;
    expect(received).toEqual(range(1, total));
  });
});
