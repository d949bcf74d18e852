import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../harness.ts';
import { readSse, until, wsClient } from '../streams/fixture.ts';

// Two web processes (own kernels, actor systems, hubs) on one database and Redis prefix; the worker runs next to A.
let a: TestServer;
let b: TestServer;
beforeAll(async () => {
  a = await startTestServer({ workers: ['runs'], workerEnv: { TAKOS_DEMO_DELAY_MS: '20' } });
  b = await startTestServer({ attachTo: a });
});
afterAll(async () => {
  await b.close();
  await a.close();
});

describe('one run watched through two web processes', () => {
  it('SSE on B and WebSocket on A see the same contiguous events of a run created on B', async () => {
    const u = await a.user('twoproc');
    const sp = await b.request('POST', '/api/spaces', { token: u.token, body: { name: 'two' } });
    const t = await b.request('POST', `/api/spaces/${sp.body.space.id}/threads`, { token: u.token, body: {} });
    await a.request('POST', `/api/threads/${t.body.thread.id}/messages`, { token: u.token, body: { role: 'user', content: 'a b c d e f g h i j k l' } });
    const run = (await b.request('POST', `/api/threads/${t.body.thread.id}/runs`, { token: u.token, body: {} })).body.run;

    const ws = wsClient(`${a.url.replace('http', 'ws')}/api/runs/${run.id}/ws`, { authorization: `Bearer ${u.token}` });
    await ws.opened;
    const sseIds: number[] = [];
    const ctl = new AbortController();
    try {
      for await (const f of readSse(`${b.url}/api/runs/${run.id}/sse`, { signal: ctl.signal, headers: { authorization: `Bearer ${u.token}` } })) {
        if (f.id !== undefined) sseIds.push(f.id);
        if (f.event === 'completed') break;
      }
    } finally {
      ctl.abort();
    }
    const all = (await a.request('GET', `/api/runs/${run.id}/events`, { token: u.token })).body.events.map((e: { id: number }) => e.id);
    expect(all).toEqual(all.map((_: number, i: number) => i + 1));
    expect(sseIds).toEqual(all);
    await until(() => ws.ids.length >= all.length, 5000, () => `ws ids ${JSON.stringify(ws.ids)} texts ${JSON.stringify(ws.texts)} closed ${JSON.stringify(ws.closed)}`);
    expect(ws.ids).toEqual(all);
    ws.ws.close();
  });
});
