import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '../harness.ts';
import { createProject, createTask, makeRepo, projectsRoot } from '../tasks/fixtures.ts';

let s: TestServer;
let s2: TestServer;
let alice: TestUser;
let projectId: string;

beforeAll(async () => {
  s = await startTestServer();
  s2 = await startTestServer({ attachTo: s });
  alice = await s.user('alice');
  mkdirSync(projectsRoot(s), { recursive: true });
  projectId = await createProject(s, alice, makeRepo(projectsRoot(s), 'app'));
});
afterAll(async () => {
  await s2.close();
  await s.close();
});

const add = (task: string, dep: string, server = s) =>
  server.request('POST', `/api/tasks/${task}/dependencies`, { token: alice.token, body: { depends_on_task_id: dep } });

describe('POST /api/tasks/:id/dependencies', () => {
  it('adds a dependency and answers the task with it', async () => {
    const a = await createTask(s, alice, projectId, { title: 'a' });
    const b = await createTask(s, alice, projectId, { title: 'b' });
    const r = await add(a, b);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ id: a, status: 'blocked', dependencies: [{ task_id: b, title: 'b', status: 'open' }] });
  });

  it('answers CONFLICT for a duplicate and VALIDATION_ERROR for itself, cycles and other projects', async () => {
    const a = await createTask(s, alice, projectId);
    const b = await createTask(s, alice, projectId);
    const c = await createTask(s, alice, projectId);
    expect((await add(a, b)).status).toBe(201);
    const dup = await add(a, b);
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('CONFLICT');
    const self = await add(a, a);
    expect(self.status).toBe(422);
    expect(self.body.error.message).toBe('a task cannot depend on itself');
    expect((await add(b, c)).status).toBe(201);
    const cycle = await add(c, a);
    expect(cycle.status).toBe(422);
    expect(cycle.body.error).toMatchObject({ code: 'VALIDATION_ERROR', details: [{ in: 'body', path: 'depends_on_task_id' }] });
    const other = await createProject(s, alice, makeRepo(projectsRoot(s), 'other'));
    const foreign = await createTask(s, alice, other);
    expect((await add(a, foreign)).status).toBe(422);
    expect((await add(a, 'nosuchtask00')).status).toBe(422);
    expect((await s.request('POST', `/api/tasks/${a}/dependencies`, { token: alice.token, body: {} })).status).toBe(422);
    expect((await add('nosuchtask00', a)).status).toBe(404);
  });

  it('refuses cycles through the task tree', async () => {
    const epic = await createTask(s, alice, projectId, { title: 'epic' });
    const kid = await createTask(s, alice, projectId, { title: 'kid', parent_id: epic });
    // A subtask waiting for its parent, or a parent waiting for its own subtask (which inherits that wait): deadlocks.
    expect((await add(kid, epic)).status).toBe(422);
    expect((await add(epic, kid)).status).toBe(422);
    const outside = await createTask(s, alice, projectId, { title: 'outside' });
    expect((await add(outside, epic)).status).toBe(201);
    // kid -> outside -> epic -> (done needs) kid
    expect((await add(kid, outside)).status).toBe(422);
    const sibling = await createTask(s, alice, projectId, { title: 'sibling', parent_id: epic });
    expect((await add(kid, sibling)).status).toBe(201);
  });

  it('lets only one of two concurrent cycle-closing requests succeed, on one or on two processes', async () => {
    for (let i = 0; i < 6; i++) {
      const a = await createTask(s, alice, projectId, { title: `a${i}` });
      const b = await createTask(s, alice, projectId, { title: `b${i}` });
      const c = await createTask(s, alice, projectId, { title: `c${i}` });
      // a -> b exists; b -> c and c -> a are each fine alone and a cycle together.
      expect((await add(a, b)).status).toBe(201);
      const [r1, r2] = await Promise.all([add(b, c), add(c, a, i % 2 ? s2 : s)]);
      expect([r1.status, r2.status].sort()).toEqual([201, 422]);
      const [direct1, direct2] = await Promise.all([add(a, c, s2), add(c, a)]);
      // a -> c is fine unless c -> a got in first, and the other way round.
      expect([direct1.status, direct2.status].filter((x) => x === 201).length).toBeLessThanOrEqual(1);
      const rows = await s.kernel.sql<{ task_id: string; depends_on_task_id: string }[]>`
        SELECT task_id, depends_on_task_id FROM task_dependencies WHERE task_id IN (${a}, ${b}, ${c})`;
      const edges = new Set(rows.map((r) => `${r.task_id}>${r.depends_on_task_id}`));
      const cyclic = (edges.has(`${a}>${b}`) && edges.has(`${b}>${c}`) && edges.has(`${c}>${a}`)) || (edges.has(`${a}>${c}`) && edges.has(`${c}>${a}`));
      expect(cyclic).toBe(false);
    }
  });
});

describe('caches across processes', () => {
  it('a change made through one server is seen at once by the other, whose board was cached', async () => {
    const a = await createTask(s, alice, projectId, { title: 'x-a' });
    const b = await createTask(s, alice, projectId, { title: 'x-b' });
    const list = async (server: TestServer) => (await server.request('GET', `/api/projects/${projectId}/tasks?include_children=false`, { token: alice.token })).body.tasks;
    expect((await list(s2)).find((t: { id: string }) => t.id === a).status).toBe('open');
    expect((await add(a, b)).status).toBe(201);
    expect((await list(s2)).find((t: { id: string }) => t.id === a).status).toBe('blocked');
    const del = await s2.request('DELETE', `/api/tasks/${a}/dependencies/${b}`, { token: alice.token });
    expect(del.status).toBe(204);
    expect((await list(s)).find((t: { id: string }) => t.id === a).status).toBe('open');
  });
});

describe('DELETE /api/tasks/:id/dependencies/:dependsOnId', () => {
  it('removes a dependency with 204, then 404', async () => {
    const a = await createTask(s, alice, projectId);
    const b = await createTask(s, alice, projectId);
    await add(a, b);
    const r = await s.request('DELETE', `/api/tasks/${a}/dependencies/${b}`, { token: alice.token });
    expect(r.status).toBe(204);
    expect(r.text).toBe('');
    const d = await s.request('GET', `/api/tasks/${a}`, { token: alice.token });
    expect(d.body.dependencies).toEqual([]);
    expect(d.body.status).toBe('open');
    expect((await s.request('DELETE', `/api/tasks/${a}/dependencies/${b}`, { token: alice.token })).status).toBe(404);
    const bob = await s.user('bob');
    expect((await s.request('DELETE', `/api/tasks/${a}/dependencies/${b}`, { token: bob.token })).status).toBe(404);
  });
});
