import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '../harness.ts';
import { commitOn, createProject, createTask, git, makeRepo, projectsRoot, waitForRun } from './fixtures.ts';

// The model agent runs on the built-in demo model (no provider key in tests), which echoes the task text word by
// word with this pause: long enough to catch a run while it is running.
process.env.TAKOS_DEMO_DELAY_MS = '40';

let s: TestServer;
let s2: TestServer;
let alice: TestUser;
let repo: string;
let projectId: string;

beforeAll(async () => {
  const env = { TAKOS_TASK_RUN_HEARTBEAT_MS: '100' };
  s = await startTestServer({ env });
  s2 = await startTestServer({ attachTo: s, env });
  alice = await s.user('alice');
  mkdirSync(projectsRoot(s), { recursive: true });
  repo = makeRepo(projectsRoot(s), 'app');
  projectId = await createProject(s, alice, repo);
});
afterAll(async () => {
  await s2.close();
  await s.close();
});

const start = (taskId: string, body: Record<string, unknown>, server = s) => server.request('POST', `/api/tasks/${taskId}/runs`, { token: alice.token, body });
const worktree = (taskId: string) => path.join(s.config.dataDir, 'worktrees', projectId, `task-${taskId}`);
const fileBlock = (p: string, content: string) => `\`\`\`file:${p}\n${content}\`\`\``;
const words = (n: number) => Array.from({ length: n }, (_, i) => `word${i}`).join(' ');

async function waitForIdleExecutor(server: TestServer): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const m = await fetch(`${server.url}/metrics`).then((r) => r.text());
    if (/^takos_task_runs_active 0$/m.test(m)) return;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error('the executor still holds runs');
}

async function waitForStatus(taskId: string, runId: string, want: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const r = await s.request('GET', `/api/tasks/${taskId}/runs/${runId}`, { token: alice.token });
    if (r.body.status === want) return;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`run ${runId} never became ${want}`);
}

describe('manual task runs', () => {
  it('commits in-scope changes on the task branch and rejects the rest, leaving the worktree clean', async () => {
    const t = await createTask(s, alice, projectId, { title: 'Add feature', write_scope: ['src/**'] });
    const r = await start(t, {
      edits: [
        { path: 'src/feature.ts', content: 'export const feature = true;\n' },
        { path: 'src/app.ts', content: null },
        { path: 'README.md', content: 'hijacked\n' },
        { path: 'docs/new.md', content: 'new\n' },
      ],
    });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ task_id: t, status: 'queued', agent: 'manual', branch: `takos/task-${t}`, write_scope: ['src/**'] });
    const run = await waitForRun(s, alice, t, r.body.id);
    expect(run).toMatchObject({ status: 'completed', error: null });
    expect([...(run.committed_files as string[])].sort()).toEqual(['src/app.ts', 'src/feature.ts']);
    expect(run.rejected_files).toEqual(
      expect.arrayContaining([
        { path: 'README.md', reason: 'outside write_scope' },
        { path: 'docs/new.md', reason: 'outside write_scope' },
      ]),
    );
    const branch = `takos/task-${t}`;
    expect(run.head_sha).toBe(git(repo, 'rev-parse', branch));
    expect(run.base_sha).toBe(git(repo, 'rev-parse', 'main'));
    expect(git(repo, 'show', '--name-status', '--format=', branch).split('\n').sort()).toEqual(['A\tsrc/feature.ts', 'D\tsrc/app.ts']);
    expect(git(repo, 'log', '-1', '--format=%s%n%an', branch)).toBe('Add feature\nalice');
    expect(git(repo, 'show', `${branch}:README.md`)).toBe('# demo');
    // main and the user's working tree are untouched; the worktree is clean.
    expect(readFileSync(path.join(repo, 'README.md'), 'utf8')).toBe('# demo\n');
    expect(git(worktree(t), 'status', '--porcelain', '--ignored')).toBe('');
    expect(existsSync(path.join(worktree(t), 'docs/new.md'))).toBe(false);
  });

  it('continues on the same branch in a second run, with the write_scope in force when it starts', async () => {
    const t = await createTask(s, alice, projectId, { write_scope: ['src/**'] });
    const r1 = await start(t, { edits: [{ path: 'src/one.ts', content: '1\n' }] });
    const first = await waitForRun(s, alice, t, r1.body.id);
    await s.request('PATCH', `/api/tasks/${t}`, { token: alice.token, body: { write_scope: ['docs/**'] } });
    const r2 = await start(t, { edits: [{ path: 'src/two.ts', content: '2\n' }, { path: 'docs/two.md', content: '2\n' }] });
    const second = await waitForRun(s, alice, t, r2.body.id);
    expect(second.base_sha).toBe(first.head_sha);
    expect(second.committed_files).toEqual(['docs/two.md']);
    expect(second.rejected_files).toEqual([{ path: 'src/two.ts', reason: 'outside write_scope' }]);
    const list = await s.request('GET', `/api/tasks/${t}/runs`, { token: alice.token });
    expect(list.body.runs.map((x: { id: string }) => x.id)).toEqual([r2.body.id, r1.body.id]);
  });

  it('refuses edits that leave the repository, at the request or at the filesystem', async () => {
    const t = await createTask(s, alice, projectId, { write_scope: ['**'] });
    for (const p of ['../escape.txt', '/etc/passwd', '.git/config', 'a/./b', 'src\\x']) {
      const r = await start(t, { edits: [{ path: p, content: 'x' }] });
      expect(r.status, p).toBe(422);
    }
    expect((await start(t, { edits: [{ path: 'a', content: '1' }, { path: 'a', content: '2' }] })).status).toBe(422);
    expect((await start(t, { agent: 'manual' })).status).toBe(422);
    expect((await start(t, { edits: [{ path: 'bin.dat', content: 'a\u0000b' }] })).status).toBe(422);
    expect((await start(t, { agent: 'model', edits: [] })).status).toBe(422);
    // A symlink committed in the repository that points outside must not redirect a write.
    const outside = await mkdtemp(path.join(os.tmpdir(), 'takos-escape-'));
    const linkTask = await createTask(s, alice, projectId, { write_scope: ['**'] });
    const branch = `takos/task-${linkTask}`;
    git(repo, 'checkout', '-q', '-b', branch);
    symlinkSync(outside, path.join(repo, 'out'));
    git(repo, 'add', 'out');
    git(repo, 'commit', '-q', '-m', 'symlink');
    git(repo, 'checkout', '-q', 'main');
    const r = await start(linkTask, { edits: [{ path: 'out/pwned.txt', content: 'x' }, { path: 'ok.txt', content: 'ok\n' }] });
    const run = await waitForRun(s, alice, linkTask, r.body.id);
    expect(run.status).toBe('completed');
    expect(run.committed_files).toEqual(['ok.txt']);
    expect(run.rejected_files).toEqual([{ path: 'out/pwned.txt', reason: 'path leads outside the repository through a symbolic link' }]);
    expect(existsSync(path.join(outside, 'pwned.txt'))).toBe(false);
  });

  it('allows one live run per task', async () => {
    const t = await createTask(s, alice, projectId, { description: words(30) });
    // No body at all starts a model run.
    const r1 = await s.request('POST', `/api/tasks/${t}/runs`, { token: alice.token });
    expect(r1.status).toBe(202);
    expect(r1.body.agent).toBe('model');
    const r2 = await start(t, { edits: [] });
    expect(r2.status).toBe(409);
    await waitForRun(s, alice, t, r1.body.id);
  });
});

describe('model task runs (demo model)', () => {
  it('applies the file blocks of the model reply', async () => {
    const description = ['Please create the file:', fileBlock('src/model.ts', 'export const fromModel = 42;\n'), fileBlock('README.md', 'nope\n')].join('\n');
    const t = await createTask(s, alice, projectId, { title: 'Model task', description, write_scope: ['src/*.ts'] });
    const r = await start(t, { agent: 'model' });
    expect(r.status).toBe(202);
    expect(r.body.agent).toBe('model');
    const run = await waitForRun(s, alice, t, r.body.id);
    expect(run).toMatchObject({ status: 'completed', committed_files: ['src/model.ts'], rejected_files: [{ path: 'README.md', reason: 'outside write_scope' }] });
    expect(git(repo, 'show', `takos/task-${t}:src/model.ts`)).toBe('export const fromModel = 42;');
  });

  it('keeps the write_scope a run started with when the task is patched meanwhile', async () => {
    const description = [words(20), fileBlock('src/late.ts', 'late\n'), fileBlock('docs/late.md', 'late\n')].join('\n');
    const t = await createTask(s, alice, projectId, { description, write_scope: ['src/**'] });
    const r = await start(t, {});
    await waitForStatus(t, r.body.id, 'running');
    const p = await s.request('PATCH', `/api/tasks/${t}`, { token: alice.token, body: { write_scope: ['docs/**'] } });
    expect(p.body.status).toBe('running');
    const run = await waitForRun(s, alice, t, r.body.id);
    expect(run.committed_files).toEqual(['src/late.ts']);
    expect(run.write_scope).toEqual(['src/**']);
  });

  it('stops a running run when its task is cancelled, on the same process or another', async () => {
    for (const server of [s, s2]) {
      const description = [words(300), fileBlock('src/never.ts', 'never\n')].join('\n');
      const t = await createTask(s, alice, projectId, { description });
      const r = await start(t, {});
      await waitForStatus(t, r.body.id, 'running');
      const c = await server.request('POST', `/api/tasks/${t}/cancel`, { token: alice.token });
      expect(c.status).toBe(200);
      expect(c.body.status).toBe('cancelled');
      const run = await waitForRun(s, alice, t, r.body.id);
      expect(run.status).toBe('cancelled');
      // The executor lets go of the run long before the 12 s the demo reply would take.
      await waitForIdleExecutor(s);
      // Nothing was committed (the branch, if the run got as far as creating it, is still at main), and a worktree
      // that was created is clean.
      const tip = git(repo, 'for-each-ref', '--format=%(objectname)', `refs/heads/takos/task-${t}`);
      expect(['', git(repo, 'rev-parse', 'main')]).toContain(tip);
      if (existsSync(path.join(worktree(t), '.git'))) expect(git(worktree(t), 'status', '--porcelain')).toBe('');
    }
  });
});

describe('a stopping server', () => {
  it('fails its runs with a reason instead of leaving them to go stale: executing ones after the grace period, waiting ones at once, new ones on arrival', async () => {
    const s3 = await startTestServer({ attachTo: s, env: { TAKOS_TASK_RUN_HEARTBEAT_MS: '100', TAKOS_TASK_RUN_CONCURRENCY: '1' } });
    try {
      const description = [words(300), fileBlock('src/never.ts', 'never\n')].join('\n');
      const tasks = [await createTask(s, alice, projectId, { description }), await createTask(s, alice, projectId, { description })];
      const first = await start(tasks[0]!, {}, s3);
      const second = await start(tasks[1]!, {}, s3);
      await waitForStatus(tasks[0]!, first.body.id, 'running');
      const stopped = performance.now();
      await s3.deps.tasks.close(300);
      // The demo reply would take 12 s; the grace period is 0.3 s.
      expect(performance.now() - stopped).toBeLessThan(5_000);
      expect(await waitForRun(s, alice, tasks[0]!, first.body.id)).toMatchObject({ status: 'failed', error: 'The server stopped during the run' });
      expect(await waitForRun(s, alice, tasks[1]!, second.body.id)).toMatchObject({ status: 'failed', error: 'The server stopped before the run started' });
      const late = await start(tasks[1]!, {}, s3);
      expect(late.status).toBe(202);
      expect(await waitForRun(s, alice, tasks[1]!, late.body.id)).toMatchObject({ status: 'failed', error: 'The server stopped before the run started' });
      // Nothing was committed, and the task reports the failure.
      const tip = git(repo, 'for-each-ref', '--format=%(objectname)', `refs/heads/takos/task-${tasks[0]}`);
      expect(['', git(repo, 'rev-parse', 'main')]).toContain(tip);
      expect((await s.request('GET', `/api/tasks/${tasks[0]}`, { token: alice.token })).body.status).toBe('failed');
    } finally {
      await s3.close();
    }
  });
});

describe('run records', () => {
  it('404s unknown runs and tasks', async () => {
    const t = await createTask(s, alice, projectId);
    expect((await s.request('GET', `/api/tasks/${t}/runs/nosuchrun000`, { token: alice.token })).status).toBe(404);
    expect((await s.request('GET', `/api/tasks/nosuchtask00/runs`, { token: alice.token })).status).toBe(404);
    commitOn(repo, 'unrelated', { 'x.txt': 'x\n' });
  });
});
