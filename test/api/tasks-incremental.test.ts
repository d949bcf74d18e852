import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderTaskList, type ListFilter } from '../../http/api/tasks/list-render.ts';
import { taskDetailView } from '../../http/api/tasks/views.ts';
import { Board } from '../../runtime/tasks/board.ts';
import { RefObserver } from '../../runtime/tasks/refs.ts';
import type { TestServer, TestUser } from '../harness.ts';
import { createProject, createTask, git, makeRepo, projectsRoot, startProjectServer, waitForRun } from '../tasks/fixtures.ts';

// The list is derived and rendered incrementally after a change (a ref read from the changed refs alone, statuses
// re-derived downstream of the changed tasks, JSON re-rendered only where a status or row changed). After every kind
// of change, each list the server answers must be byte for byte what a fresh board (full ref listing, full
// derivation, everything rendered anew) makes of the same database and repository.
let s: TestServer;
let alice: TestUser;
beforeAll(async () => {
  ({ s, alice } = await startProjectServer());
});
afterAll(() => s.close());

const FILTERS: Array<[string, ListFilter]> = [
  ['', { includeChildren: true }],
  ['?include_children=false', { includeChildren: false }],
  ['?parent_id=null', { parentId: null, includeChildren: true }],
  ['?status=blocked', { status: 'blocked', includeChildren: true }],
  ['?status=ready&include_children=false', { status: 'ready', includeChildren: false }],
];

describe('incremental task list', () => {
  it('answers what a full derivation answers after every kind of change', async () => {
    const repo = makeRepo(projectsRoot(s), 'incremental');
    const projectId = await createProject(s, alice, repo, { name: 'incremental' });
    const commit = (from: string, msg: string) => git(repo, '-c', 'user.name=t', '-c', 'user.email=t@example.test', 'commit-tree', `${from}^{tree}`, '-p', from, '-m', msg);
    const main = () => git(repo, 'rev-parse', 'refs/heads/main');
    // Three epics of three subtasks in chains, the third epic waiting for the first; a standalone task.
    const epics: string[] = [];
    const subs: string[][] = [];
    for (let e = 0; e < 3; e++) {
      const epic = await createTask(s, alice, projectId, { title: `epic "${e}"`, ...(e === 2 ? { depends_on: [epics[0]!] } : {}) });
      epics.push(epic);
      const row: string[] = [];
      for (let i = 0; i < 3; i++) row.push(await createTask(s, alice, projectId, { title: `sub ${e}.${i} ü`, parent_id: epic, ...(i > 0 ? { depends_on: [row[i - 1]!] } : {}) }));
      subs.push(row);
    }
    const lone = await createTask(s, alice, projectId, { title: 'lone' });
    const branch = (id: string) => `refs/heads/takos/task-${id}`;
    const base0 = main();

    const fullRefs = new RefObserver();
    const compare = async (step: string) => {
      const answers: string[] = [];
      for (const [query] of FILTERS) {
        const r = await s.request('GET', `/api/projects/${projectId}/tasks${query}`, { token: alice.token });
        expect(r.status, `${step} ${query}`).toBe(200);
        answers.push(r.text);
      }
      const [project] = await s.deps.sql<Array<{ id: string; repo_path: string; base_branch: string; version: string }>>`
        SELECT id, repo_path, base_branch, version::text FROM projects WHERE id = ${projectId}`;
      // A new observer state and board each time: a full listing, a full derivation, every piece rendered anew.
      fullRefs.invalidate(repo);
      const snap = await new Board(s.deps.sql, fullRefs).snapshot(project!);
      FILTERS.forEach(([query, filter], i) => expect(answers[i], `${step} ${query}`).toBe(renderTaskList(snap, filter).toString()));
      // Each task's detail too: its dependencies and latest run come from the maps a write patches (board.ts).
      for (const t of snap.tasks) {
        const r = await s.request('GET', `/api/tasks/${t.id}`, { token: alice.token });
        expect(r.body, `${step} detail of ${t.id}`).toEqual(JSON.parse(JSON.stringify(taskDetailView(snap, t.id))));
      }
    };
    await compare('start');
    // Work on a first subtask's branch (forked from main), then more work: tip moves, status needs_review.
    const w1 = commit(base0, 'work 1');
    git(repo, 'update-ref', branch(subs[0]![0]!), w1);
    await compare('branch created');
    git(repo, 'update-ref', branch(subs[0]![0]!), commit(w1, 'work 2'));
    await compare('tip moved');
    // Merge it: done, the next subtask in the chain becomes ready.
    git(repo, 'update-ref', 'refs/heads/main', git(repo, 'commit-tree', `${main()}^{tree}`, '-p', main(), '-p', branch(subs[0]![0]!), '-m', 'merge'));
    await compare('merged');
    // Finish epic 0 entirely by branches merged in one merge: epic 2 is unblocked.
    for (const id of [subs[0]![1]!, subs[0]![2]!]) git(repo, 'update-ref', branch(id), commit(main(), `work ${id}`));
    await compare('two more branches');
    git(repo, 'update-ref', 'refs/heads/main', git(repo, 'commit-tree', `${main()}^{tree}`, '-p', main(), '-p', branch(subs[0]![1]!), '-p', branch(subs[0]![2]!), '-m', 'octopus'));
    await compare('epic done');
    // A ref that is no task's, and a branch at the base's tip (merged, but no work of its own).
    git(repo, 'update-ref', 'refs/heads/takos/scratch', main());
    await compare('scratch ref');
    git(repo, 'update-ref', branch(lone), main());
    await compare('branch at base');
    // Writes: a title (in dependents' reasons), a new subtask, a dependency, a cancellation.
    expect((await s.request('PATCH', `/api/tasks/${subs[1]![0]!}`, { token: alice.token, body: { title: 'renamed "sub"' } })).status).toBe(200);
    await compare('title patched');
    await createTask(s, alice, projectId, { title: 'late sub', parent_id: epics[1]!, depends_on: [lone] });
    await compare('subtask added');
    expect((await s.request('POST', `/api/tasks/${subs[2]![0]!}/dependencies`, { token: alice.token, body: { depends_on_task_id: subs[1]![2]! } })).status).toBe(201);
    await compare('dependency added');
    expect((await s.request('DELETE', `/api/tasks/${subs[2]![0]!}/dependencies/${subs[1]![2]!}`, { token: alice.token })).status).toBe(204);
    await compare('dependency removed');
    expect((await s.request('POST', `/api/tasks/${subs[2]![0]!}/dependencies`, { token: alice.token, body: { depends_on_task_id: subs[1]![2]! } })).status).toBe(201);
    await compare('dependency added again');
    expect((await s.request('POST', `/api/tasks/${subs[1]![2]!}/cancel`, { token: alice.token, body: {} })).status).toBe(200);
    await compare('cancelled');
    // A task run (the manual agent): a new latest run, task branch and fork point, written by the executor in the
    // background, so compared once it has finished.
    const run = await s.request('POST', `/api/tasks/${subs[1]![0]!}/runs`, { token: alice.token, body: { edits: [{ path: 'src/run.ts', content: 'export {};\n' }] } });
    expect(run.status, run.text).toBe(202);
    expect(await waitForRun(s, alice, subs[1]![0]!, run.body.id)).toMatchObject({ status: 'completed' });
    await compare('run completed');
    // A live run (written as a worker writes it), then its heartbeat: the same status with new facts.
    await s.deps.sql`INSERT INTO task_runs (id, task_id, status, agent, write_scope, branch, heartbeat_at, started_at)
      VALUES ('liverun00001', ${subs[1]![1]!}, 'running', 'manual', '{src/**}', ${`takos/task-${subs[1]![1]!}`}, now(), now())`;
    await s.deps.sql`UPDATE projects SET version = version + 1 WHERE id = ${projectId}`;
    await compare('run running');
    await s.deps.sql`UPDATE task_runs SET heartbeat_at = now() + interval '1 second' WHERE id = 'liverun00001'`;
    await s.deps.sql`UPDATE projects SET version = version + 1 WHERE id = ${projectId}`;
    await compare('heartbeat');
    await s.deps.sql`UPDATE task_runs SET status = 'failed', error = 'boom', completed_at = now() WHERE id = 'liverun00001'`;
    await s.deps.sql`UPDATE projects SET version = version + 1 WHERE id = ${projectId}`;
    await compare('run failed');
    // Base rewound (branches merged before are not any more), a deleted branch, packed refs, then a loose write again.
    git(repo, 'update-ref', 'refs/heads/main', base0);
    await compare('base rewound');
    git(repo, 'update-ref', '-d', branch(subs[0]![2]!));
    await compare('branch deleted');
    git(repo, 'pack-refs', '--all');
    await compare('packed');
    git(repo, 'update-ref', branch(subs[0]![1]!), commit(base0, 'after pack'));
    await compare('loose after pack');
    git(repo, 'update-ref', branch(subs[0]![1]!), commit(base0, 'after pack 2'));
    await compare('loose after pack 2');
    fullRefs.close();
    // The server read refs in full only where refs.ts requires it: the first read, the first task branch (no
    // refs/heads/takos folder to watch before), the rewound base, the deletion, the packing, and the first loose
    // ref after it (packing removed the folder), and after the task run (its executor forgets the repository's refs
    // after writing a branch). The other seven ref changes were read incrementally; the other writes changed no ref.
    // One moved tip ('tip moved') was answered from its new commit's parent, the old unmerged tip.
    expect(s.deps.tasks.board.refs.stats).toEqual({ full: 7, incremental: 7, fromParents: 1 });
    // Statuses were derived in full for the 13 tasks created at the start, the subtask added and the dependency
    // added, removed and added again (new rows or edges), and nowhere else: downstream of what changed for the title, the cancellation, the
    // run's writes (as many as the polling saw, at least one) and the three run rows written by hand, and the ten
    // ref changes that moved a task branch or the base; not at all where no task's facts changed (scratch ref, packing).
    const board = s.deps.tasks.board.stats;
    expect(board.full).toBe(17);
    expect(board.incremental).toBeGreaterThanOrEqual(12 + 1 + 3);
    // Rows were read in full after the writes that record no change (creating a task: 13 + 1) and after the three
    // run rows written by hand without one; every other write (title, dependency, cancellation, the run's own
    // writes) named its tasks in the change log, and only those were read again.
    expect(board.rowsFull).toBe(17);
    expect(board.rowsChanged).toBeGreaterThanOrEqual(6);
  });
});
