import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '../harness.ts';
import { readSse, until, wsClient } from '../streams/fixture.ts';

let s: TestServer;
let owner: TestUser;
let viewer: TestUser;
let outsider: TestUser;
let spaceId: string;

beforeAll(async () => {
  s = await startTestServer({ workers: ['runs'] });
  owner = await s.user('owner1');
  viewer = await s.user('viewer1');
  outsider = await s.user('outsider1');
  const sp = await s.request('POST', '/api/spaces', { token: owner.token, body: { name: 'Run Space' } });
  spaceId = sp.body.space.id;
  await s.request('POST', `/api/spaces/${spaceId}/members`, { token: owner.token, body: { username: viewer.username, role: 'viewer' } });
});
afterAll(() => s.close());

async function newThread(text = 'hello from the test') {
  const t = await s.request('POST', `/api/spaces/${spaceId}/threads`, { token: owner.token, body: { title: 'T' } });
  expect(t.status).toBe(201);
  const m = await s.request('POST', `/api/threads/${t.body.thread.id}/messages`, { token: owner.token, body: { role: 'user', content: text } });
  expect(m.status).toBe(201);
  return t.body.thread.id as string;
}

async function waitTerminal(runId: string, token = owner.token) {
  let run: { status: string } = { status: 'queued' };
  await until(async () => {
    run = (await s.request('GET', `/api/runs/${runId}`, { token })).body.run;
    return ['completed', 'failed', 'cancelled'].includes(run.status);
  }, 20_000, `run ${runId} to finish`);
  return run as Record<string, unknown>;
}

describe('runs: create, execute, read', () => {
  it('runs end to end on the demo model: streamed deltas, final message in the thread, contiguous event ids', async () => {
    const threadId = await newThread('echo these words please');
    const r = await s.request('POST', `/api/threads/${threadId}/runs`, { token: owner.token, body: { input: { goal: 'x' } } });
    expect(r.status).toBe(201);
    expect(r.body.run).toMatchObject({ thread_id: threadId, space_id: spaceId, status: 'queued', input: '{"goal":"x"}', root_thread_id: threadId, agent_type: 'default' });
    expect(r.body.run.root_run_id).toBe(r.body.run.id);
    const run = await waitTerminal(r.body.run.id);
    expect(run.status).toBe('completed');
    expect(run.output).toBe('[demo model] echo these words please');
    expect(JSON.parse(run.usage as string)).toMatchObject({ inputTokens: expect.any(Number), outputTokens: expect.any(Number) });

    const ev = await s.request('GET', `/api/runs/${r.body.run.id}/events`, { token: viewer.token });
    expect(ev.status).toBe(200);
    const ids = ev.body.events.map((e: { id: number }) => e.id);
    expect(ids).toEqual(ids.map((_: number, i: number) => i + 1));
    const types = ev.body.events.map((e: { type: string }) => e.type);
    expect(types[0]).toBe('started');
    expect(types.slice(-2)).toEqual(['message', 'completed']);
    expect(types).toContain('message_delta');
    const deltas = ev.body.events.filter((e: { type: string }) => e.type === 'message_delta').map((e: { data: string }) => JSON.parse(e.data).delta).join('');
    expect(deltas).toBe('[demo model] echo these words please');
    expect(ev.body.run_status).toBe('completed');
    expect(ev.body.events[0].event_id).toBe('1');

    const msgs = await s.request('GET', `/api/threads/${threadId}/messages`, { token: owner.token });
    expect(msgs.body.messages.map((m: { role: string; content: string }) => [m.role, m.content])).toEqual([
      ['user', 'echo these words please'],
      ['assistant', '[demo model] echo these words please'],
    ]);

    const replay = await s.request('GET', `/api/runs/${r.body.run.id}/replay?after=${ids.length - 1}`, { token: owner.token });
    expect(replay.body.events.map((e: { id: number }) => e.id)).toEqual([ids.length]);
  });

  it('SSE and WebSocket deliver the same ids as /events, live and from history', async () => {
    const threadId = await newThread('one two three four five six');
    const r = await s.request('POST', `/api/threads/${threadId}/runs`, { token: owner.token, body: {} });
    const runId = r.body.run.id;
    const ws = wsClient(`${s.url.replace('http', 'ws')}/api/runs/${runId}/ws?last_event_id=0`, { authorization: `Bearer ${owner.token}` });
    await ws.opened;
    const sseIds: number[] = [];
    const ctl = new AbortController();
    const sse = (async () => {
      try {
        for await (const f of readSse(`${s.url}/api/runs/${runId}/sse`, { signal: ctl.signal, headers: { authorization: `Bearer ${owner.token}` } })) {
          if (f.id !== undefined) sseIds.push(f.id);
          if (f.event === 'completed') break;
        }
      } catch (err) {
        if ((err as Error).name !== 'AbortError') throw err;
      } finally {
        ctl.abort();
      }
    })();
    await sse;
    const ev = await s.request('GET', `/api/runs/${runId}/events`, { token: owner.token });
    const ids = ev.body.events.map((e: { id: number }) => e.id);
    expect(sseIds).toEqual(ids);
    await until(() => ws.ids.length >= ids.length, 5000, () => `ws events (got ${JSON.stringify(ws.ids)}, closed ${JSON.stringify(ws.closed)})`);
    expect(ws.ids).toEqual(ids);
    expect(ws.messages[0]).toMatchObject({ type: 'connected' });
    ws.ws.close();
  });

  it('authenticates the WebSocket upgrade and checks membership', async () => {
    const threadId = await newThread();
    const r = await s.request('POST', `/api/threads/${threadId}/runs`, { token: owner.token, body: {} });
    const WebSocket = (await import('ws')).default;
    const open = (token: string | null) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`${s.url.replace('http', 'ws')}/api/runs/${r.body.run.id}/ws`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('error', () => undefined);
      });
    expect(await open(null)).toBe(401);
    expect(await open(outsider.token)).toBe(404);
    expect(await open(viewer.token)).toBe(101);
    const plain = await s.request('GET', `/api/runs/${r.body.run.id}/ws`, { token: owner.token });
    expect(plain.status).toBe(426);
  });

  it('lists runs newest first with the composite cursor', async () => {
    const threadId = await newThread();
    const created: string[] = [];
    for (let i = 0; i < 5; i++) created.push((await s.request('POST', `/api/threads/${threadId}/runs`, { token: owner.token, body: {} })).body.run.id);
    const page1 = await s.request('GET', `/api/threads/${threadId}/runs?limit=3`, { token: viewer.token });
    expect(page1.body.runs).toHaveLength(3);
    expect(page1.body.next_cursor).toMatch(/^\d{4}-.*Z,[a-z0-9]{12}$/);
    const page2 = await s.request('GET', `/api/threads/${threadId}/runs?limit=3&cursor=${encodeURIComponent(page1.body.next_cursor)}`, { token: viewer.token });
    const all = [...page1.body.runs, ...page2.body.runs].map((x: { id: string }) => x.id);
    expect(new Set(all)).toEqual(new Set(created));
    expect(page2.body.next_cursor).toBeNull();
    expect((await s.request('GET', `/api/threads/${threadId}/runs?cursor=garbage`, { token: viewer.token })).status).toBe(400);
    expect((await s.request('GET', `/api/threads/${threadId}/runs?limit=1000`, { token: viewer.token })).body.limit).toBe(200);
    for (const id of created) await waitTerminal(id);
  });
});

describe('runs: rules', () => {
  it('validates bodies, params and parents', async () => {
    const threadId = await newThread();
    expect((await s.request('POST', `/api/threads/${threadId}/runs`, { token: owner.token, body: { input: 'not an object' } })).status).toBe(422);
    expect((await s.request('POST', `/api/threads/${threadId}/runs`, { token: owner.token, body: { parent_run_id: 'bad id!' } })).body.error.message).toBe('Invalid parent_run_id');
    expect((await s.request('POST', `/api/threads/${threadId}/runs`, { token: owner.token, body: { parent_run_id: 'nosuchrun123' } })).status).toBe(400);
    expect((await s.request('GET', '/api/runs/bad$id', { token: owner.token })).status).toBe(400);
    expect((await s.request('GET', `/api/runs/${'x'.repeat(12)}/events?last_event_id=-1`, { token: owner.token })).status).toBe(422);
  });

  it('enforces roles: viewers read but cannot create or cancel; outsiders see 404', async () => {
    const threadId = await newThread();
    expect((await s.request('POST', `/api/threads/${threadId}/runs`, { token: viewer.token, body: {} })).status).toBe(404);
    expect((await s.request('POST', `/api/threads/${threadId}/runs`, { token: outsider.token, body: {} })).status).toBe(404);
    expect((await s.request('POST', `/api/threads/${threadId}/runs`, { token: null, body: {} })).status).toBe(401);
    const r = await s.request('POST', `/api/threads/${threadId}/runs`, { token: owner.token, body: {} });
    expect((await s.request('GET', `/api/runs/${r.body.run.id}`, { token: viewer.token })).body.role).toBe('viewer');
    expect((await s.request('GET', `/api/runs/${r.body.run.id}`, { token: outsider.token })).status).toBe(404);
    expect((await s.request('POST', `/api/runs/${r.body.run.id}/cancel`, { token: viewer.token })).status).toBe(404);
    await waitTerminal(r.body.run.id);
  });

  it('child runs inherit the root and record the child thread', async () => {
    const t1 = await newThread();
    const t2 = await newThread();
    const parent = (await s.request('POST', `/api/threads/${t1}/runs`, { token: owner.token, body: {} })).body.run;
    const child = await s.request('POST', `/api/threads/${t2}/runs`, { token: owner.token, body: { parent_run_id: parent.id, agent_type: 'helper' } });
    expect(child.status).toBe(201);
    expect(child.body.run).toMatchObject({ parent_run_id: parent.id, root_run_id: parent.id, root_thread_id: t1, child_thread_id: t2, agent_type: 'helper' });
    await waitTerminal(parent.id);
    await waitTerminal(child.body.run.id);
  });

  it('cancels a queued or running run; a finished run cannot be cancelled', async () => {
    const threadId = await newThread();
    const r = await s.request('POST', `/api/threads/${threadId}/runs`, { token: owner.token, body: {} });
    const c = await s.request('POST', `/api/runs/${r.body.run.id}/cancel`, { token: owner.token });
    // The demo model is fast: the run may already have finished, in which case the answer is the spec's 400.
    if (c.status === 200) {
      expect(c.body).toEqual({ success: true });
      const run = await waitTerminal(r.body.run.id);
      expect(run.status).toBe('cancelled');
      const ev = await s.request('GET', `/api/runs/${r.body.run.id}/events`, { token: owner.token });
      expect(ev.body.events.at(-1)).toMatchObject({ type: 'cancelled' });
    } else expect(c.body.error.message).toBe('Run is already finished');
    const again = await s.request('POST', `/api/runs/${r.body.run.id}/cancel`, { token: owner.token });
    expect(again.status).toBe(400);
    expect(again.body.error.message).toBe('Run is already finished');
  });

  it('artifacts: create (editor+), list, get, validation', async () => {
    const threadId = await newThread();
    const r = (await s.request('POST', `/api/threads/${threadId}/runs`, { token: owner.token, body: {} })).body.run;
    const a = await s.request('POST', `/api/runs/${r.id}/artifacts`, { token: owner.token, body: { type: 'patch', title: 'fix', content: 'diff', metadata: { k: 1 } } });
    expect(a.status).toBe(201);
    expect(a.body.artifact).toMatchObject({ run_id: r.id, space_id: spaceId, type: 'patch', title: 'fix', metadata: '{"k":1}' });
    expect((await s.request('POST', `/api/runs/${r.id}/artifacts`, { token: owner.token, body: { type: 'weird' } })).status).toBe(422);
    expect((await s.request('POST', `/api/runs/${r.id}/artifacts`, { token: viewer.token, body: { type: 'doc' } })).status).toBe(404);
    expect((await s.request('GET', `/api/runs/${r.id}/artifacts`, { token: viewer.token })).body.artifacts).toHaveLength(1);
    expect((await s.request('GET', `/api/artifacts/${a.body.artifact.id}`, { token: viewer.token })).body.artifact.id).toBe(a.body.artifact.id);
    expect((await s.request('GET', `/api/artifacts/${a.body.artifact.id}`, { token: outsider.token })).status).toBe(404);
    await waitTerminal(r.id);
  });
});
