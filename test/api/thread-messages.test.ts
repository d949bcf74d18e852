import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendMessage } from '../../http/api/threads/queries.ts';
import { startTestServer, type TestServer } from '../harness.ts';
import { createThread, postMessage, roleSet } from './thread-fixtures.ts';

let s: TestServer;
let team: Awaited<ReturnType<typeof roleSet>>;
beforeAll(async () => {
  s = await startTestServer();
  team = await roleSet(s);
});
afterAll(() => s.close());

describe('post messages', () => {
  it('stores a message with its JSON fields as strings and sequence 0, 1, ...', async () => {
    const id = await createThread(s, team.editor.token, team.spaceId);
    const r = await s.request('POST', `/api/threads/${id}/messages`, {
      token: team.editor.token,
      body: { role: 'assistant', content: 'calling a tool', tool_calls: [{ id: 'c1', name: 'ls' }], metadata: { k: 1 } },
    });
    expect(r.status).toBe(201);
    expect(r.body.message).toMatchObject({
      thread_id: id,
      role: 'assistant',
      content: 'calling a tool',
      tool_calls: '[{"id":"c1","name":"ls"}]',
      tool_call_id: null,
      metadata: '{"k":1}',
      sequence: 0,
    });
    expect(r.body.message.id).toMatch(/^[a-z0-9]{12}$/);
    const tool = await postMessage(s, team.editor.token, id, { role: 'tool', content: 'a b c', tool_call_id: 'c1' });
    expect(tool).toMatchObject({ sequence: 1, tool_call_id: 'c1', tool_calls: null, metadata: '{}' });
  });

  it('the first user message names an untitled thread (50 chars + "...")', async () => {
    const id = await createThread(s, team.editor.token, team.spaceId);
    const long = 'あ'.repeat(30) + 'b'.repeat(30);
    await postMessage(s, team.editor.token, id, { role: 'user', content: long });
    await postMessage(s, team.editor.token, id, { role: 'user', content: 'second' });
    const t = await s.request('GET', `/api/threads/${id}`, { token: team.editor.token });
    expect(t.body.thread.title).toBe(`${'あ'.repeat(30)}${'b'.repeat(20)}...`);
    const titled = await createThread(s, team.editor.token, team.spaceId, { title: 'mine' });
    await postMessage(s, team.editor.token, titled, { role: 'user', content: 'hello' });
    expect((await s.request('GET', `/api/threads/${titled}`, { token: team.editor.token })).body.thread.title).toBe('mine');
  });

  it('requires content unless there are attachments; validates role and fields', async () => {
    const id = await createThread(s, team.editor.token, team.spaceId);
    const empty = await s.request('POST', `/api/threads/${id}/messages`, { token: team.editor.token, body: { role: 'user', content: '' } });
    expect(empty.status).toBe(400);
    expect(empty.body.error.message).toBe('Content is required');
    expect((await s.request('POST', `/api/threads/${id}/messages`, { token: team.editor.token, body: { role: 'user', metadata: { attachments: [] } } })).status).toBe(400);
    const att = await s.request('POST', `/api/threads/${id}/messages`, { token: team.editor.token, body: { role: 'user', metadata: { attachments: [{ file_id: 'f1' }] } } });
    expect(att.status).toBe(201);
    expect(att.body.message.content).toBe('');
    for (const body of [{ role: 'robot', content: 'x' }, { content: 'x' }, { role: 'user', content: 5 }, { role: 'user', content: 'x', tool_calls: {} }, { role: 'user', content: 'x', metadata: [] }]) {
      const r = await s.request('POST', `/api/threads/${id}/messages`, { token: team.editor.token, body });
      expect(r.status, JSON.stringify(body)).toBe(422);
    }
    const list = await s.request('GET', `/api/threads/${id}/messages`, { token: team.editor.token });
    expect(list.body.total).toBe(1);
  });

  it('401 anonymous, 404 outsiders and viewers, 409 on a deleted thread; nothing stored', async () => {
    const id = await createThread(s, team.editor.token, team.spaceId);
    const body = { role: 'user', content: 'x' };
    expect((await s.request('POST', `/api/threads/${id}/messages`, { token: null, body })).status).toBe(401);
    expect((await s.request('POST', `/api/threads/${id}/messages`, { token: team.outsider.token, body })).status).toBe(404);
    const viewer = await s.request('POST', `/api/threads/${id}/messages`, { token: team.viewer.token, body });
    expect(viewer.status).toBe(404);
    expect(viewer.body.error.message).toBe('Thread not found');
    await s.request('DELETE', `/api/threads/${id}`, { token: team.admin.token });
    expect((await s.request('POST', `/api/threads/${id}/messages`, { token: team.editor.token, body })).status).toBe(409);
    expect((await s.request('GET', `/api/threads/${id}/messages`, { token: team.viewer.token })).body.total).toBe(0);
    expect((await s.request('POST', '/api/threads/bad.id/messages', { token: team.editor.token, body })).status).toBe(400);
  });
});

describe('concurrent appends', () => {
  it('concurrent posts to one thread get distinct, contiguous sequences, across two processes', async () => {
    const other = await startTestServer({ attachTo: s });
    try {
      const id = await createThread(s, team.editor.token, team.spaceId);
      const N = 40;
      const results = await Promise.all(
        Array.from({ length: N }, (_, i) =>
          (i % 2 ? other : s).request('POST', `/api/threads/${id}/messages`, { token: team.editor.token, body: { role: 'user', content: `m${i}` } }),
        ),
      );
      expect(results.map((r) => r.status)).toEqual(Array(N).fill(201));
      const seqs = results.map((r) => r.body.message.sequence as number).sort((a, b) => a - b);
      expect(seqs).toEqual(Array.from({ length: N }, (_, i) => i));
      const list = await s.request('GET', `/api/threads/${id}/messages?limit=200`, { token: team.editor.token });
      expect(list.body.total).toBe(N);
      expect(list.body.messages.map((m: { sequence: number }) => m.sequence)).toEqual(seqs);
      // created_at follows sequence order: it is taken after the per-thread lock.
      const times = list.body.messages.map((m: { created_at: string }) => Date.parse(m.created_at));
      expect([...times].sort((a, b) => a - b)).toEqual(times);
    } finally {
      await other.close();
    }
  });

  it('appendMessage (for the runs family) commits with the caller transaction and gives its number back on rollback', async () => {
    const id = await createThread(s, team.editor.token, team.spaceId);
    await expect(
      s.kernel.sql.begin(async (tx) => {
        await appendMessage(tx, id, { role: 'assistant', content: 'draft' });
        throw new Error('caller failed');
      }),
    ).rejects.toThrow('caller failed');
    const row = await s.kernel.sql.begin((tx) => appendMessage(tx, id, { role: 'assistant', content: 'final', metadata: { run_id: 'r1' } }));
    expect(row).toMatchObject({ sequence: 0, role: 'assistant', content: 'final', metadata: '{"run_id":"r1"}' });
    await expect(s.kernel.sql.begin((tx) => appendMessage(tx, 'nosuchthread', { role: 'assistant', content: 'x' }))).rejects.toMatchObject({ status: 404 });
  });
});

describe('timeline', () => {
  it('lists in sequence order with total, default 100 / max 200, and no active run', async () => {
    const id = await createThread(s, team.editor.token, team.spaceId);
    for (let i = 0; i < 5; i++) await postMessage(s, team.editor.token, id, { role: i % 2 ? 'assistant' : 'user', content: `m${i}` });
    const r = await s.request('GET', `/api/threads/${id}/messages`, { token: team.viewer.token });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ total: 5, limit: 100, offset: 0, activeRun: null, pendingSessionDiff: null });
    expect(r.body.messages.map((m: { content: string }) => m.content)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    const page = await s.request('GET', `/api/threads/${id}/messages?limit=2&offset=3`, { token: team.viewer.token });
    expect(page.body.messages.map((m: { sequence: number }) => m.sequence)).toEqual([3, 4]);
    expect(page.body).toMatchObject({ total: 5, limit: 2, offset: 3 });
    expect((await s.request('GET', `/api/threads/${id}/messages?limit=1000`, { token: team.viewer.token })).body.limit).toBe(200);
    expect((await s.request('GET', `/api/threads/${id}/messages?limit=abc&offset=-1`, { token: team.viewer.token })).body).toMatchObject({ limit: 100, offset: 0 });
    expect((await s.request('GET', `/api/threads/${id}/messages`, { token: team.outsider.token })).status).toBe(404);
    expect((await s.request('GET', `/api/threads/${id}/messages`, { token: null })).status).toBe(401);
  });
});

describe('message search', () => {
  it('finds messages of one thread in sequence order, with snippet offsets, paged and clamped', async () => {
    const id = await createThread(s, team.editor.token, team.spaceId);
    const other = await createThread(s, team.editor.token, team.spaceId);
    await postMessage(s, team.editor.token, id, { role: 'user', content: 'Deploy the app' });
    await postMessage(s, team.editor.token, id, { role: 'assistant', content: 'deploying now' });
    await postMessage(s, team.editor.token, id, { role: 'user', content: 'unrelated' });
    await postMessage(s, team.editor.token, other, { role: 'user', content: 'deploy elsewhere' });
    const r = await s.request('GET', `/api/threads/${id}/messages/search?q=DEPLOY`, { token: team.viewer.token });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ query: 'DEPLOY', type: 'all', limit: 20, offset: 0, semantic_available: false });
    expect(r.body.results).toEqual([
      { kind: 'keyword', message: expect.objectContaining({ sequence: 0, role: 'user' }), snippet: 'Deploy the app', match: { start: 0, end: 6 } },
      { kind: 'keyword', message: expect.objectContaining({ sequence: 1, role: 'assistant' }), snippet: 'deploying now', match: { start: 0, end: 6 } },
    ]);
    const p = await s.request('GET', `/api/threads/${id}/messages/search?q=deploy&limit=1&offset=1`, { token: team.viewer.token });
    expect(p.body.results.map((x: { message: { sequence: number } }) => x.message.sequence)).toEqual([1]);
    expect((await s.request('GET', `/api/threads/${id}/messages/search?q=deploy&limit=500`, { token: team.viewer.token })).body.limit).toBe(100);
    expect((await s.request('GET', `/api/threads/${id}/messages/search`, { token: team.viewer.token })).status).toBe(400);
    expect((await s.request('GET', `/api/threads/${id}/messages/search?q=${'x'.repeat(501)}`, { token: team.viewer.token })).status).toBe(422);
    expect((await s.request('GET', `/api/threads/${id}/messages/search?q=deploy`, { token: team.outsider.token })).status).toBe(404);
    expect((await s.request('GET', `/api/threads/${id}/messages/search?q=deploy`, { token: null })).status).toBe(401);
  });
});

describe('history', () => {
  it('returns messages (unless include_messages=0) with empty run state for a thread without runs', async () => {
    const id = await createThread(s, team.editor.token, team.spaceId);
    await postMessage(s, team.editor.token, id, { role: 'user', content: 'hi' });
    const r = await s.request('GET', `/api/threads/${id}/history`, { token: team.viewer.token });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      total: 1,
      limit: 100,
      offset: 0,
      runs: [],
      activeRun: null,
      pendingSessionDiff: null,
      focus: { latest_run_id: null, latest_active_run_id: null, latest_failed_run_id: null, latest_completed_run_id: null, resume_run_id: null },
    });
    expect(r.body.messages).toHaveLength(1);
    const noMsgs = await s.request('GET', `/api/threads/${id}/history?include_messages=0&limit=999`, { token: team.viewer.token });
    expect(noMsgs.body).toMatchObject({ messages: [], total: 0, limit: 200 });
    expect((await s.request('GET', `/api/threads/${id}/history?root_run_id=bad%20id`, { token: team.viewer.token })).status).toBe(422);
    expect((await s.request('GET', `/api/threads/${id}/history`, { token: team.outsider.token })).status).toBe(404);
    expect((await s.request('GET', `/api/threads/${id}/history`, { token: null })).status).toBe(401);
  });

  it('assembles the run tree from the runs tables: events, artifacts, child runs, focus, active run', async () => {
    await ensureRunTables(s);
    const id = await createThread(s, team.editor.token, team.spaceId);
    const child = await createThread(s, team.editor.token, team.spaceId);
    const sql = s.kernel.sql;
    const at = (sec: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, sec));
    const run = (rid: string, thread: string, status: string, sec: number, extra: { parent?: string; childThread?: string; session?: string } = {}) => sql`
      INSERT INTO runs (id, thread_id, account_id, status, agent_type, parent_run_id, child_thread_id, root_thread_id, root_run_id, session_id, created_at)
      VALUES (${rid}, ${thread}, ${team.spaceId}, ${status}, 'default', ${extra.parent ?? null}, ${extra.childThread ?? null}, ${id}, ${extra.parent ? 'r1' : rid}, ${extra.session ?? null}, ${at(sec)})`;
    await run('r1', id, 'failed', 1);
    await run('r2', child, 'completed', 2, { parent: 'r1', childThread: child });
    await run('r3', id, 'running', 3);
    await sql`INSERT INTO run_events (run_id, id, type, data, created_at) VALUES ('r1', 1, 'message', '{"t":1}', ${at(1)}), ('r1', 2, 'error', '{}', ${at(5)})`;
    await sql`INSERT INTO artifacts (id, run_id, account_id, type, title, created_at) VALUES ('a1', 'r1', ${team.spaceId}, 'code', 'patch', ${at(2)})`;

    const h = await s.request('GET', `/api/threads/${id}/history`, { token: team.viewer.token });
    expect(h.status, h.text).toBe(200);
    expect(h.body.runs.map((n: { run: { id: string } }) => n.run.id)).toEqual(['r1', 'r2', 'r3']);
    const r1 = h.body.runs[0];
    expect(r1.run).toMatchObject({ id: 'r1', space_id: team.spaceId, status: 'failed', created_at: '2026-01-01T00:00:01.000Z' });
    expect(r1.events.map((e: { type: string }) => e.type)).toEqual(['message', 'error']);
    expect(r1.latest_event_at).toBe('2026-01-01T00:00:05.000Z');
    expect(r1).toMatchObject({ artifact_count: 1, child_run_count: 1, child_thread_id: child });
    expect(r1.artifacts[0]).toMatchObject({ id: 'a1', run_id: 'r1', type: 'code', title: 'patch' });
    expect(h.body.focus).toEqual({ latest_run_id: 'r3', latest_active_run_id: 'r3', latest_failed_run_id: 'r1', latest_completed_run_id: 'r2', resume_run_id: 'r3' });
    expect(h.body.activeRun).toMatchObject({ id: 'r3', status: 'running' });

    // Scoped to one root run; and from the child thread, the tree is anchored at its own first run.
    const scoped = await s.request('GET', `/api/threads/${id}/history?root_run_id=r1`, { token: team.viewer.token });
    expect(scoped.body.runs.map((n: { run: { id: string } }) => n.run.id)).toEqual(['r1', 'r2']);
    const fromChild = await s.request('GET', `/api/threads/${child}/history`, { token: team.viewer.token });
    expect(fromChild.body.runs.map((n: { run: { id: string } }) => n.run.id)).toEqual(['r2']);

    const timeline = await s.request('GET', `/api/threads/${id}/messages`, { token: team.viewer.token });
    expect(timeline.body.activeRun).toMatchObject({ id: 'r3' });
  });
});

/**
 * The runs family owns `runs`, `run_events` and `artifacts`. Until its migration exists in this build, create the
 * spec-9 shape in this file's own database (cloned per test file, so nothing leaks); once it exists, the rows
 * above go into the real tables, which checks that the history reader still matches them.
 */
async function ensureRunTables(s: TestServer) {
  const [{ present }] = (await s.kernel.sql`SELECT to_regclass('runs') IS NOT NULL AS present`) as unknown as [{ present: boolean }];
  if (present) return;
  await s.kernel.sql.unsafe(`
    CREATE TABLE runs (id text PRIMARY KEY, thread_id text NOT NULL, account_id text NOT NULL, session_id text, parent_run_id text,
      child_thread_id text, root_thread_id text, root_run_id text, agent_type text NOT NULL DEFAULT 'default', status text NOT NULL DEFAULT 'queued',
      input text NOT NULL DEFAULT '{}', output text, error text, started_at timestamptz, completed_at timestamptz, created_at timestamptz NOT NULL DEFAULT now());
    CREATE TABLE run_events (run_id text NOT NULL, id integer NOT NULL, type text NOT NULL, data jsonb NOT NULL DEFAULT '{}', created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (run_id, id));
    CREATE TABLE artifacts (id text PRIMARY KEY, run_id text NOT NULL, account_id text NOT NULL, type text NOT NULL DEFAULT 'code', title text, content text,
      file_id text, metadata text NOT NULL DEFAULT '{}', created_at timestamptz NOT NULL DEFAULT now());`);
}
