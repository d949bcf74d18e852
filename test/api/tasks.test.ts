import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '../harness.ts';
import { commitOn, createProject, createTask, git, makeRepo, mergeIntoMain, projectsRoot, waitForRun } from '../tasks/fixtures.ts';

let s: TestServer;
let alice: TestUser;
let bob: TestUser;
let repo: string;
let projectId: string;

beforeAll(async () => {
  s = await startTestServer();
  alice = await s.user('alice');
  bob = await s.user('bob');
  mkdirSync(projectsRoot(s), { recursive: true });
  repo = makeRepo(projectsRoot(s), 'app');
  projectId = await createProject(s, alice, repo);
});
afterAll(() => s.close());

const get = (p: string, user = alice) => s.request('GET', p, { token: user.token });
const status = async (id: string) => (await get(`/api/tasks/${id}`)).body.status as string;

describe('POST /api/projects/:projectId/tasks', () => {
  it('creates a task and answers its detail', async () => {
    const r = await s.request('POST', `/api/projects/${projectId}/tasks`, {
      token: alice.token,
      body: { title: 'Write parser', description: 'details', write_scope: ['src/parser/**', 'test/*.ts'] },
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      project_id: projectId, parent_id: null, title: 'Write parser', description: 'details', write_scope: ['src/parser/**', 'test/*.ts'],
      status: 'open', cancelled_at: null, dependencies: [], latest_run: null, branch: `takos/task-${r.body.id}`,
    });
    expect(r.body.reasons).toEqual([{ code: 'no_dependencies', message: 'no dependencies and no run yet' }]);
  });

  it('validates write_scope, parent_id and depends_on', async () => {
    const post = (body: Record<string, unknown>) => s.request('POST', `/api/projects/${projectId}/tasks`, { token: alice.token, body: { title: 't', write_scope: ['src/**'], ...body } });
    const empty = await post({ write_scope: [] });
    expect(empty.status).toBe(422);
    expect(empty.body.error.details[0]).toMatchObject({ in: 'body', path: 'write_scope' });
    const abs = await post({ write_scope: ['/etc/**'] });
    expect(abs.status).toBe(422);
    expect(abs.body.error.details[0].path).toBe('write_scope.0');
    expect((await post({ write_scope: ['../x'] })).status).toBe(422);
    expect((await post({ write_scope: 'src/**' })).status).toBe(422);
    expect((await post({ title: '' })).status).toBe(422);
    expect((await post({ title: 'nul\u0000' })).status).toBe(422);
    expect((await post({ description: 'nul\u0000' })).status).toBe(422);
    const missingParent = await post({ parent_id: 'nosuchtask00' });
    expect(missingParent.status).toBe(422);
    expect(missingParent.body.error.details[0].path).toBe('parent_id');
    const otherProject = await createProject(s, alice, repo, { name: 'other' });
    const foreign = await createTask(s, alice, otherProject);
    const r1 = await post({ depends_on: [foreign] });
    expect(r1.status).toBe(422);
    expect(r1.body.error.details[0].path).toBe('depends_on.0');
    const r2 = await post({ parent_id: foreign });
    expect(r2.status).toBe(422);
    const count = await s.kernel.sql`SELECT count(*)::int AS n FROM tasks WHERE project_id = ${projectId} AND title = 't'`;
    expect(count[0]!.n).toBe(0);
  });

  it('refuses a subtask that depends on its own ancestor (a cycle through the tree)', async () => {
    const parent = await createTask(s, alice, projectId, { title: 'epic' });
    const r = await s.request('POST', `/api/projects/${projectId}/tasks`, { token: alice.token, body: { title: 'child', write_scope: ['src/**'], parent_id: parent, depends_on: [parent] } });
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('VALIDATION_ERROR');
    expect(r.body.error.message).toMatch(/cycle/);
    // Through another task: B waits for the epic, so a child of the epic cannot wait for B.
    const b = await createTask(s, alice, projectId, { title: 'b', depends_on: [parent] });
    const r2 = await s.request('POST', `/api/projects/${projectId}/tasks`, { token: alice.token, body: { title: 'child2', write_scope: ['src/**'], parent_id: parent, depends_on: [b] } });
    expect(r2.status).toBe(422);
  });

  it('is for editors: viewers get 403, strangers 404', async () => {
    const team = await s.request('POST', '/api/spaces', { token: alice.token, body: { name: 'T', slug: 'team-tasks' } });
    const add = await s.request('POST', `/api/spaces/${team.body.space.id}/members`, { token: alice.token, body: { username: 'bob', role: 'viewer' } });
    expect(add.status, add.text).toBe(201);
    const teamProject = await createProject(s, alice, repo, { space_id: team.body.space.id });
    const task = await createTask(s, alice, teamProject);
    expect((await get(`/api/tasks/${task}`, bob)).status).toBe(200);
    const w = await s.request('POST', `/api/projects/${teamProject}/tasks`, { token: bob.token, body: { title: 'x', write_scope: ['a'] } });
    expect(w.status).toBe(403);
    expect((await s.request('PATCH', `/api/tasks/${task}`, { token: bob.token, body: { title: 'y' } })).status).toBe(403);
    const carol = await s.user('carol');
    expect((await get(`/api/tasks/${task}`, carol)).status).toBe(404);
    expect((await get(`/api/projects/${teamProject}/tasks`, carol)).status).toBe(404);
  });
});

describe('GET /api/projects/:projectId/tasks', () => {
  let p: string;
  let epic: string;
  let c1: string;
  let c2: string;
  let solo: string;
  beforeAll(async () => {
    p = await createProject(s, alice, repo, { name: 'tree' });
    epic = await createTask(s, alice, p, { title: 'epic' });
    c1 = await createTask(s, alice, p, { title: 'c1', parent_id: epic });
    c2 = await createTask(s, alice, p, { title: 'c2', parent_id: epic, depends_on: [c1] });
    solo = await createTask(s, alice, p, { title: 'solo' });
  });

  it('answers the task tree by default (children nested, each task once)', async () => {
    const r = await get(`/api/projects/${p}/tasks`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/application\/json/);
    expect(r.body.tasks.map((t: { id: string }) => t.id)).toEqual([epic, solo]);
    expect(r.body.tasks[0].children.map((t: { id: string }) => t.id)).toEqual([c1, c2]);
    expect(r.body.tasks[0].children[1]).toMatchObject({ status: 'blocked', reasons: [{ code: 'dependency_not_done', task_id: c1 }], children: [] });
    expect(r.body.tasks[0]).toMatchObject({ status: 'open', reasons: [{ code: 'subtask_open', task_id: c1 }] });
  });

  it('filters by parent_id (null = top level) and status, flat without include_children', async () => {
    const flat = await get(`/api/projects/${p}/tasks?include_children=false`);
    expect(flat.body.tasks.map((t: { id: string }) => t.id)).toEqual([epic, c1, c2, solo]);
    expect(flat.body.tasks[0].children).toBeUndefined();
    const top = await get(`/api/projects/${p}/tasks?parent_id=null&include_children=false`);
    expect(top.body.tasks.map((t: { id: string }) => t.id)).toEqual([epic, solo]);
    const kids = await get(`/api/projects/${p}/tasks?parent_id=${epic}`);
    expect(kids.body.tasks.map((t: { id: string }) => t.id)).toEqual([c1, c2]);
    const blocked = await get(`/api/projects/${p}/tasks?status=blocked`);
    expect(blocked.body.tasks.map((t: { id: string }) => t.id)).toEqual([c2]);
    const open = await get(`/api/projects/${p}/tasks?status=open`);
    expect(open.body.tasks.map((t: { id: string }) => t.id)).toEqual([epic, solo]);
    expect(open.body.tasks[0].children.map((t: { id: string }) => t.id)).toEqual([c1, c2]);
  });

  it('renders titles with quotes, backslashes and non-ASCII the same in the list and the detail', async () => {
    const odd = await createTask(s, alice, p, { title: 'He said "hi" \\ 日本\n', description: '"\u2028"' });
    const after = await createTask(s, alice, p, { title: 'after', depends_on: [odd] });
    const list = (await get(`/api/projects/${p}/tasks?include_children=false`)).body.tasks;
    const detail = (await get(`/api/tasks/${after}`)).body;
    const inList = list.find((t: { id: string }) => t.id === after);
    expect(inList.reasons).toEqual(detail.reasons);
    expect(detail.reasons[0].message).toBe(`depends on "He said "hi" \\ 日本" (${odd}), which is open`);
    expect(list.find((t: { id: string }) => t.id === odd)).toMatchObject({ title: 'He said "hi" \\ 日本', description: '"\u2028"' });
  });

  it('rejects bad filters with 422', async () => {
    expect((await get(`/api/projects/${p}/tasks?status=finished`)).status).toBe(422);
    expect((await get(`/api/projects/${p}/tasks?include_children=maybe`)).status).toBe(422);
    expect((await get(`/api/projects/${p}/tasks?parent_id=bad%20id`)).status).toBe(422);
    expect((await get(`/api/projects/nosuchproj00/tasks`)).status).toBe(404);
  });
});

describe('derived status from the repository', () => {
  it('walks a task through ready, running, needs_review and done, and unblocks its dependent', async () => {
    const a = await createTask(s, alice, projectId, { title: 'A', write_scope: ['src/**'] });
    const b = await createTask(s, alice, projectId, { title: 'B', depends_on: [a] });
    expect(await status(a)).toBe('open');
    const detail = (await get(`/api/tasks/${b}`)).body;
    expect(detail.status).toBe('blocked');
    expect(detail.dependencies).toEqual([{ task_id: a, title: 'A', status: 'open' }]);

    const run = await s.request('POST', `/api/tasks/${a}/runs`, { token: alice.token, body: { edits: [{ path: 'src/a.ts', content: 'export const a = 1;\n' }] } });
    expect(run.status).toBe(202);
    const done = await waitForRun(s, alice, a, run.body.id);
    expect(done).toMatchObject({ status: 'completed', committed_files: ['src/a.ts'], rejected_files: [] });
    const ad = (await get(`/api/tasks/${a}`)).body;
    expect(ad.status).toBe('needs_review');
    expect(ad.reasons[0].code).toBe('unmerged_commits');
    expect(ad.latest_run).toMatchObject({ id: run.body.id, status: 'completed', head_sha: git(repo, 'rev-parse', `takos/task-${a}`) });
    expect(ad.latest_run.finished_at).toEqual(expect.any(String));
    expect(await status(b)).toBe('blocked');

    mergeIntoMain(repo, `takos/task-${a}`);
    const merged = (await get(`/api/tasks/${a}`)).body;
    expect(merged.status).toBe('done');
    expect(merged.reasons[0].code).toBe('branch_merged');
    const bd = (await get(`/api/tasks/${b}`)).body;
    expect(bd.status).toBe('ready');
    expect(bd.dependencies).toEqual([{ task_id: a, title: 'A', status: 'done' }]);
  });

  it('does not count a branch with no work of its own as done, but a hand-made merged branch is', async () => {
    const t = await createTask(s, alice, projectId, { title: 'nothing' });
    const run = await s.request('POST', `/api/tasks/${t}/runs`, { token: alice.token, body: { edits: [] } });
    const out = await waitForRun(s, alice, t, run.body.id);
    expect(out).toMatchObject({ status: 'completed', committed_files: [] });
    const d = (await get(`/api/tasks/${t}`)).body;
    expect(d.status).toBe('open');
    expect(d.reasons.map((r: { code: string }) => r.code)).toContain('run_made_no_commits');

    const hand = await createTask(s, alice, projectId, { title: 'by hand' });
    expect(await status(hand)).toBe('open');
    commitOn(repo, `takos/task-${hand}`, { 'src/hand.ts': 'x\n' });
    mergeIntoMain(repo, `takos/task-${hand}`);
    expect(await status(hand)).toBe('done');
  });

  it('reports a failed run, and a lost one (stale heartbeat) as failed', async () => {
    const t = await createTask(s, alice, projectId, { title: 'fails' });
    // The task branch is checked out in the main working tree, so `git worktree add` must fail.
    commitOn(repo, `takos/task-${t}`, { 'src/wip.ts': 'wip\n' });
    git(repo, 'checkout', '-q', `takos/task-${t}`);
    try {
      const run = await s.request('POST', `/api/tasks/${t}/runs`, { token: alice.token, body: { edits: [] } });
      const out = await waitForRun(s, alice, t, run.body.id);
      expect(out.status).toBe('failed');
      expect(out.error).toMatch(/already (checked out|used by worktree)/);
    } finally {
      git(repo, 'checkout', '-q', 'main');
    }
    const d = (await get(`/api/tasks/${t}`)).body;
    expect(d.status).toBe('failed');
    expect(d.reasons[0]).toMatchObject({ code: 'run_failed' });

    const lost = await createTask(s, alice, projectId, { title: 'lost' });
    await s.kernel.sql`INSERT INTO task_runs (id, task_id, status, agent, write_scope, branch, heartbeat_at, started_at)
      VALUES ('lostrun00001', ${lost}, 'running', 'manual', '{src/**}', ${`takos/task-${lost}`}, now() - interval '5 minutes', now() - interval '5 minutes')`;
    await s.kernel.sql`UPDATE projects SET version = version + 1 WHERE id = ${projectId}`;
    const ld = (await get(`/api/tasks/${lost}`)).body;
    expect(ld.status).toBe('failed');
    expect(ld.reasons[0]).toMatchObject({ code: 'run_lost', run_id: 'lostrun00001' });
    // Starting again fails the lost run for good and goes ahead.
    const again = await s.request('POST', `/api/tasks/${lost}/runs`, { token: alice.token, body: { edits: [{ path: 'src/lost.ts', content: '1\n' }] } });
    expect(again.status).toBe(202);
    await waitForRun(s, alice, lost, again.body.id);
    const [old] = await s.kernel.sql`SELECT status FROM task_runs WHERE id = 'lostrun00001'`;
    expect(old!.status).toBe('failed');
  });

  it('keeps the task tree in step with ref-only changes, whichever list was asked for in between', async () => {
    // Rendered pieces are reused across snapshots (list-render.ts): a subtree must not keep a child's old reasons
    // when, while that child changed and its parent did not, only lists without the parent's subtree were rendered
    // (flat, or the parent's children with theirs).
    const repo2 = makeRepo(projectsRoot(s), 'tree-cache');
    const p2 = await createProject(s, alice, repo2, { name: 'tree-cache' });
    const dep = await createTask(s, alice, p2, { title: 'dep' });
    const epic = await createTask(s, alice, p2, { title: 'epic' });
    const k1 = await createTask(s, alice, p2, { title: 'k1', parent_id: epic, depends_on: [dep] });
    await createTask(s, alice, p2, { title: 'k2', parent_id: epic });
    const run = await s.request('POST', `/api/tasks/${dep}/runs`, { token: alice.token, body: { edits: [] } });
    await waitForRun(s, alice, dep, run.body.id);
    type Node = { id: string; status: string; reasons: Array<{ message: string }>; children?: Node[] };
    const tree = async () => (await get(`/api/projects/${p2}/tasks`)).body.tasks as Node[];
    const flat = async () => (await get(`/api/projects/${p2}/tasks?include_children=false`)).body.tasks as Node[];
    const k1In = (t: Node[]) => t.find((x) => x.id === epic)!.children!.find((c) => c.id === k1)!;
    const before = await tree();
    expect(k1In(before).status).toBe('blocked');
    expect(k1In(before).reasons[0]!.message).toMatch(/which is open$/);
    // Work on dep's branch (a ref change only): dep goes to needs_review, k1 stays blocked with another reason, the
    // epic's answer is unchanged. Only the flat list and the epic's children are rendered in that state.
    // (The run's worktree has the branch checked out: the commit is made without a checkout.)
    const depBranch = `refs/heads/takos/task-${dep}`;
    const tip = git(repo2, 'rev-parse', depBranch);
    const work = git(repo2, '-c', 'user.name=t', '-c', 'user.email=t@example.test', 'commit-tree', `${tip}^{tree}`, '-p', tip, '-m', 'dep work');
    git(repo2, 'update-ref', depBranch, work);
    const f1 = await flat();
    const children = (await get(`/api/projects/${p2}/tasks?parent_id=${epic}`)).body.tasks as Node[];
    expect(children.find((t) => t.id === k1)!.reasons[0]!.message).toMatch(/which is needs_review$/);
    expect(f1.find((t) => t.id === dep)!.status).toBe('needs_review');
    expect(f1.find((t) => t.id === k1)!.reasons[0]!.message).toMatch(/which is needs_review$/);
    const epicBefore = before.find((t) => t.id === epic)!;
    expect(f1.find((t) => t.id === epic)!).toMatchObject({ status: epicBefore.status, reasons: epicBefore.reasons });
    // Another ref change that changes no status (a branch outside the board), then the tree.
    git(repo2, 'branch', 'takos/not-a-task');
    const after = await tree();
    expect(k1In(after)).toMatchObject({ status: 'blocked', reasons: f1.find((t) => t.id === k1)!.reasons });
  });

  it('summarises a parent from its subtasks', async () => {
    const epic = await createTask(s, alice, projectId, { title: 'epic2' });
    const k1 = await createTask(s, alice, projectId, { title: 'k1', parent_id: epic });
    const k2 = await createTask(s, alice, projectId, { title: 'k2', parent_id: epic });
    expect(await status(epic)).toBe('open');
    for (const k of [k1, k2]) {
      const run = await s.request('POST', `/api/tasks/${k}/runs`, { token: alice.token, body: { edits: [{ path: `src/${k}.ts`, content: 'k\n' }] } });
      await waitForRun(s, alice, k, run.body.id);
    }
    expect(await status(epic)).toBe('needs_review');
    mergeIntoMain(repo, `takos/task-${k1}`);
    expect(await status(epic)).toBe('needs_review');
    mergeIntoMain(repo, `takos/task-${k2}`);
    const d = (await get(`/api/tasks/${epic}`)).body;
    expect(d.status).toBe('done');
    expect(d.reasons).toEqual([{ code: 'all_subtasks_done', message: 'all 2 subtasks are done' }]);
    // A parent cannot run itself.
    const r = await s.request('POST', `/api/tasks/${epic}/runs`, { token: alice.token, body: { edits: [] } });
    expect(r.status).toBe(409);
  });

  it('makes subtasks inherit what their parent waits for', async () => {
    const prereq = await createTask(s, alice, projectId, { title: 'prereq' });
    const epic = await createTask(s, alice, projectId, { title: 'epic3', depends_on: [prereq] });
    const kid = await createTask(s, alice, projectId, { title: 'kid', parent_id: epic });
    const d = (await get(`/api/tasks/${kid}`)).body;
    expect(d.status).toBe('blocked');
    expect(d.reasons[0]).toMatchObject({ code: 'ancestor_dependency_not_done', task_id: prereq });
    const r = await s.request('POST', `/api/tasks/${kid}/runs`, { token: alice.token, body: { edits: [] } });
    expect(r.status).toBe(409);
    expect(r.body.error.details.status).toBe('blocked');
  });
});

describe('OpenAPI', () => {
  it('documents the families, the recursive task list included', async () => {
    const r = await s.request('GET', '/openapi.json', { token: null });
    expect(r.status).toBe(200);
    const list = r.body.paths['/api/projects/{projectId}/tasks'].get;
    expect(list.tags).toEqual(['tasks']);
    expect(JSON.stringify(list.responses['200'])).toContain('children');
    expect(r.body.paths['/api/tasks/{id}/dependencies/{dependsOnId}'].delete).toBeDefined();
  });
});

describe('PATCH /api/tasks/:id', () => {
  it('updates title, description and write_scope; validates', async () => {
    const t = await createTask(s, alice, projectId, { title: 'old' });
    const r = await s.request('PATCH', `/api/tasks/${t}`, { token: alice.token, body: { title: 'new', description: 'd', write_scope: ['docs/**'] } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ title: 'new', description: 'd', write_scope: ['docs/**'] });
    expect((await s.request('PATCH', `/api/tasks/${t}`, { token: alice.token, body: {} })).status).toBe(422);
    expect((await s.request('PATCH', `/api/tasks/${t}`, { token: alice.token, body: { write_scope: [] } })).status).toBe(422);
    expect((await s.request('PATCH', `/api/tasks/nosuchtask00`, { token: alice.token, body: { title: 'x' } })).status).toBe(404);
  });
});

describe('POST /api/tasks/:id/cancel', () => {
  it('cancels, then answers CONFLICT; a done task cannot be cancelled', async () => {
    const t = await createTask(s, alice, projectId, { title: 'to cancel' });
    const r = await s.request('POST', `/api/tasks/${t}/cancel`, { token: alice.token });
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('cancelled');
    expect(r.body.cancelled_at).toEqual(expect.any(String));
    const again = await s.request('POST', `/api/tasks/${t}/cancel`, { token: alice.token });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'CONFLICT', details: { status: 'cancelled' } });

    const d = await createTask(s, alice, projectId, { title: 'done one' });
    commitOn(repo, `takos/task-${d}`, { 'src/done.ts': 'd\n' });
    mergeIntoMain(repo, `takos/task-${d}`);
    const c = await s.request('POST', `/api/tasks/${d}/cancel`, { token: alice.token });
    expect(c.status).toBe(409);
    expect(c.body.error.details.status).toBe('done');
    // Runs on a cancelled task are refused too.
    expect((await s.request('POST', `/api/tasks/${t}/runs`, { token: alice.token, body: { edits: [] } })).status).toBe(409);
  });

  it('cancels unfinished subtasks with their parent', async () => {
    const epic = await createTask(s, alice, projectId, { title: 'epic4' });
    const k1 = await createTask(s, alice, projectId, { title: 'k1', parent_id: epic });
    const k2 = await createTask(s, alice, projectId, { title: 'k2', parent_id: epic });
    const r = await s.request('POST', `/api/tasks/${epic}/cancel`, { token: alice.token });
    expect(r.status).toBe(200);
    expect(await status(k1)).toBe('cancelled');
    expect(await status(k2)).toBe('cancelled');
  });
});
