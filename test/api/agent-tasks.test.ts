import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKind } from '../../actors/run/kind.ts';
import { startTestServer, type TestServer } from '../harness.ts';
import { team, type Team } from '../sessions/fixtures.ts';

/**
 * Agent-task CRUD and the read model (workspace spec 11), on a server without a runs worker so that runs stay where
 * the test puts them. Planning (which needs a worker) is in agent-tasks-plan.test.ts.
 */
let s: TestServer;
let t: Team;
beforeAll(async () => {
  s = await startTestServer();
  t = await team(s, 'Task Space');
});
afterAll(() => s.close());

const create = (body: Record<string, unknown>, token: string | null = t.editor.token, space = t.id) => s.request('POST', `/api/spaces/${space}/agent-tasks`, { token, body });

describe('POST /api/spaces/:spaceId/agent-tasks', () => {
  it('creates a task with the defaults and its own thread', async () => {
    const r = await create({ title: '  Write the docs  ' });
    expect(r.status).toBe(201);
    const task = r.body.task;
    expect(task).toMatchObject({
      space_id: t.id,
      created_by: t.editor.id,
      title: 'Write the docs',
      description: null,
      status: 'planned',
      priority: 'medium',
      agent_type: 'default',
      model: null,
      plan: null,
      plan_status: 'none',
      plan_run_id: null,
      last_run_id: null,
      due_at: null,
      started_at: null,
      completed_at: null,
      thread_title: 'Write the docs',
      latest_run: null,
    });
    expect(task.id).toMatch(/^[a-z0-9]{12}$/);
    expect(task.resume_target).toEqual({ thread_id: task.thread_id, run_id: null, reason: 'thread' });
    const th = await s.request('GET', `/api/threads/${task.thread_id}`, { token: t.viewer.token });
    expect(th.body.thread).toMatchObject({ title: 'Write the docs', space_id: t.id });
  });

  it('takes every field; object plans are stored as JSON text; in_progress / completed stamp their times', async () => {
    const r = await create({
      title: 'Full',
      description: 'All fields',
      status: 'in_progress',
      priority: 'urgent',
      agent_type: 'coder',
      model: 'gpt-5.4-mini',
      plan: { type: 'code_change', steps: ['a'] },
      due_at: '2030-01-02T03:04:05.000Z',
      create_thread: false,
    });
    expect(r.status).toBe(201);
    expect(r.body.task).toMatchObject({
      description: 'All fields',
      status: 'in_progress',
      priority: 'urgent',
      agent_type: 'coder',
      model: 'gpt-5.4-mini',
      plan: '{"type":"code_change","steps":["a"]}',
      plan_status: 'ready',
      due_at: '2030-01-02T03:04:05.000Z',
      thread_id: null,
      resume_target: null,
      completed_at: null,
    });
    expect(r.body.task.started_at).toEqual(expect.any(String));
    const done = await create({ title: 'Done', status: 'completed', plan: 'free text plan' });
    expect(done.body.task).toMatchObject({ plan: 'free text plan', started_at: null });
    expect(done.body.task.completed_at).toEqual(expect.any(String));
  });

  it('resolves the space by slug and `me` (the original stored the raw path value)', async () => {
    const [row] = await s.kernel.sql<{ slug: string }[]>`SELECT slug FROM accounts WHERE id = ${t.id}`;
    const bySlug = await create({ title: 'By slug' }, t.editor.token, row!.slug);
    expect(bySlug.status).toBe(201);
    expect(bySlug.body.task.space_id).toBe(t.id);
    const mine = await create({ title: 'Personal' }, t.editor.token, 'me');
    expect(mine.body.task.space_id).toBe(t.editor.id);
    const list = await s.request('GET', '/api/spaces/me/agent-tasks', { token: t.editor.token });
    expect(list.body.tasks.map((x: { title: string }) => x.title)).toEqual(['Personal']);
  });

  it('uses a given thread of the space; one of another space is 404', async () => {
    const th = await s.request('POST', `/api/spaces/${t.id}/threads`, { token: t.editor.token, body: { title: 'Existing' } });
    const r = await create({ title: 'On a thread', thread_id: th.body.thread.id });
    expect(r.body.task).toMatchObject({ thread_id: th.body.thread.id, thread_title: 'Existing' });
    const other = await team(s, 'Elsewhere');
    const foreign = await s.request('POST', `/api/spaces/${other.id}/threads`, { token: other.editor.token, body: {} });
    const bad = await create({ title: 'x', thread_id: foreign.body.thread.id });
    expect(bad.status).toBe(404);
    expect(bad.body.error.message).toBe('Thread not found');
  });

  it('validates: blank title 400, bad enums / dates / types 422, viewers and outsiders 404', async () => {
    for (const body of [{}, { title: '   ' }]) {
      const r = await create(body);
      expect(r.status).toBe(400);
      expect(r.body.error.message).toBe('title is required');
    }
    for (const body of [{ title: 'x', status: 'done' }, { title: 'x', priority: 'p0' }, { title: 'x', due_at: 'tomorrow' }, { title: 'x', create_thread: 'no' }, { title: 7 }]) {
      const r = await create(body);
      expect(r.status, JSON.stringify(body)).toBe(422);
      expect(r.body.error.code).toBe('VALIDATION_ERROR');
    }
    expect((await create({ title: 'x' }, t.viewer.token)).status).toBe(404);
    expect((await create({ title: 'x' }, t.outsider.token)).status).toBe(404);
    expect((await create({ title: 'x' }, null)).status).toBe(401);
  });
});

describe('GET /api/spaces/:spaceId/agent-tasks', () => {
  it('lists newest update first, filters by status (invalid: 400), clamps limit, pages with offset', async () => {
    const u = await team(s, 'Listing');
    const ids: string[] = [];
    for (const [title, status] of [['one', 'planned'], ['two', 'blocked'], ['three', 'planned']] as const) {
      ids.push((await create({ title, status }, u.editor.token, u.id)).body.task.id);
    }
    await s.request('PATCH', `/api/agent-tasks/${ids[0]}`, { token: u.editor.token, body: { priority: 'high' } });
    const all = await s.request('GET', `/api/spaces/${u.id}/agent-tasks`, { token: u.viewer.token });
    expect(all.status).toBe(200);
    expect(all.body.tasks.map((x: { title: string }) => x.title)).toEqual(['one', 'three', 'two']);
    const planned = await s.request('GET', `/api/spaces/${u.id}/agent-tasks?status=planned`, { token: u.viewer.token });
    expect(planned.body.tasks.map((x: { title: string }) => x.title)).toEqual(['one', 'three']);
    const bad = await s.request('GET', `/api/spaces/${u.id}/agent-tasks?status=nope`, { token: u.viewer.token });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toBe('Invalid status');
    const page = await s.request('GET', `/api/spaces/${u.id}/agent-tasks?limit=1&offset=1`, { token: u.viewer.token });
    expect(page.body.tasks.map((x: { title: string }) => x.title)).toEqual(['three']);
    const lenient = await s.request('GET', `/api/spaces/${u.id}/agent-tasks?limit=abc&offset=-3`, { token: u.viewer.token });
    expect(lenient.body.tasks).toHaveLength(3);
    expect((await s.request('GET', `/api/spaces/${u.id}/agent-tasks`, { token: u.outsider.token })).status).toBe(404);
  });
});

describe('GET / PATCH / DELETE /api/agent-tasks/:id', () => {
  it('reads for any member; 404 "Task not found" for outsiders and unknown ids', async () => {
    const id = (await create({ title: 'Readable' })).body.task.id;
    const r = await s.request('GET', `/api/agent-tasks/${id}`, { token: t.viewer.token });
    expect(r.status).toBe(200);
    expect(r.body.task.id).toBe(id);
    const out = await s.request('GET', `/api/agent-tasks/${id}`, { token: t.outsider.token });
    expect(out.status).toBe(404);
    expect(out.body.error.message).toBe('Task not found');
    expect((await s.request('GET', '/api/agent-tasks/nosuchtask', { token: t.viewer.token })).status).toBe(404);
    expect((await s.request('GET', '/api/agent-tasks/bad!id', { token: t.viewer.token })).status).toBe(400);
  });

  it('patches any field with the side rules; empty 400, blank title 400, foreign thread/run 404, viewers 404', async () => {
    const task = (await create({ title: 'Patchable' })).body.task;
    const p = (body: Record<string, unknown>, token = t.editor.token) => s.request('PATCH', `/api/agent-tasks/${task.id}`, { token, body });
    const r = await p({ title: 'Renamed', description: 'd', priority: 'low', agent_type: '', model: 'claude-x', due_at: '2031-01-01T00:00:00Z', plan: { a: 1 } });
    expect(r.status).toBe(200);
    expect(r.body.task).toMatchObject({ title: 'Renamed', description: 'd', priority: 'low', agent_type: 'default', model: 'claude-x', due_at: '2031-01-01T00:00:00.000Z', plan: '{"a":1}' });
    expect(Date.parse(r.body.task.updated_at)).toBeGreaterThan(Date.parse(task.updated_at));

    const started = await p({ status: 'in_progress' });
    expect(started.body.task.started_at).toEqual(expect.any(String));
    const given = await p({ status: 'completed', completed_at: '2020-05-05T00:00:00Z' });
    expect(given.body.task).toMatchObject({ status: 'completed', completed_at: '2020-05-05T00:00:00.000Z', started_at: started.body.task.started_at });
    // Any status from any status; stamps are never cleared automatically.
    const back = await p({ status: 'planned' });
    expect(back.body.task).toMatchObject({ status: 'planned', completed_at: '2020-05-05T00:00:00.000Z' });
    const cleared = await p({ description: null, model: null, plan: null, due_at: null, thread_id: null, started_at: null, completed_at: null });
    expect(cleared.body.task).toMatchObject({ description: null, model: null, plan: null, plan_status: 'none', due_at: null, thread_id: null, started_at: null, completed_at: null, resume_target: null });

    const empty = await p({});
    expect(empty.status).toBe(400);
    expect(empty.body.error.message).toBe('No valid updates provided');
    expect((await p({ title: ' ' })).status).toBe(400);
    expect((await p({ status: 'nope' })).status).toBe(422);
    const other = await team(s, 'Foreign');
    const th = await s.request('POST', `/api/spaces/${other.id}/threads`, { token: other.editor.token, body: {} });
    const ft = await p({ thread_id: th.body.thread.id });
    expect(ft.status).toBe(404);
    expect(ft.body.error.message).toBe('Thread not found');
    const run = await s.request('POST', `/api/threads/${th.body.thread.id}/runs`, { token: other.editor.token, body: {} });
    const fr = await p({ last_run_id: run.body.run.id });
    expect(fr.status).toBe(404);
    expect(fr.body.error.message).toBe('Run not found');
    expect((await p({ title: 'v' }, t.viewer.token)).status).toBe(404);
  });

  it('deletes for admins only (editors get 404, like every agent-task refusal); thread and runs stay', async () => {
    const task = (await create({ title: 'Doomed' })).body.task;
    expect((await s.request('DELETE', `/api/agent-tasks/${task.id}`, { token: t.editor.token })).status).toBe(404);
    const r = await s.request('DELETE', `/api/agent-tasks/${task.id}`, { token: t.admin.token });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ success: true });
    expect((await s.request('GET', `/api/agent-tasks/${task.id}`, { token: t.admin.token })).status).toBe(404);
    expect((await s.request('GET', `/api/threads/${task.thread_id}`, { token: t.admin.token })).status).toBe(200);
  });
});

describe('read model: latest_run and resume_target', () => {
  it('follows the runs of the task thread: active, then failed, then latest', async () => {
    const task = (await create({ title: 'Runs' })).body.task;
    const newRun = async () => (await s.request('POST', `/api/threads/${task.thread_id}/runs`, { token: t.editor.token, body: { agent_type: 'coder' } })).body.run.id as string;
    const get = async () => (await s.request('GET', `/api/agent-tasks/${task.id}`, { token: t.viewer.token })).body.task;

    const r1 = await newRun();
    let v = await get();
    expect(v.latest_run).toMatchObject({ run_id: r1, status: 'queued', agent_type: 'coder', started_at: null, error: null, artifact_count: 0 });
    expect(v.resume_target).toEqual({ thread_id: task.thread_id, run_id: r1, reason: 'active' });

    await s.deps.actors.send(runKind, r1, { type: 'dead_letter', error: 'boom' });
    const r2 = await newRun();
    await s.request('POST', `/api/runs/${r2}/artifacts`, { token: t.editor.token, body: { type: 'doc', content: 'x' } });
    await s.request('POST', `/api/runs/${r2}/cancel`, { token: t.editor.token });
    v = await get();
    expect(v.latest_run).toMatchObject({ run_id: r2, status: 'cancelled', artifact_count: 1 });
    expect(v.resume_target).toEqual({ thread_id: task.thread_id, run_id: r1, reason: 'failed' });

    await s.kernel.sql`DELETE FROM runs WHERE id = ${r1}`;
    v = await get();
    expect(v.resume_target).toEqual({ thread_id: task.thread_id, run_id: r2, reason: 'latest' });
  });

  it('a task without a thread shows the run last_run_id names', async () => {
    const th = await s.request('POST', `/api/spaces/${t.id}/threads`, { token: t.editor.token, body: {} });
    const run = (await s.request('POST', `/api/threads/${th.body.thread.id}/runs`, { token: t.editor.token, body: {} })).body.run.id;
    const task = (await create({ title: 'No thread', create_thread: false })).body.task;
    const r = await s.request('PATCH', `/api/agent-tasks/${task.id}`, { token: t.editor.token, body: { last_run_id: run } });
    expect(r.body.task).toMatchObject({ last_run_id: run, thread_id: null, resume_target: null });
    expect(r.body.task.latest_run.run_id).toBe(run);
  });
});
