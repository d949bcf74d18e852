import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '../harness.ts';

/** Real git repositories for the tasks tests, made with the git CLI. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-C', cwd, ...args], {
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 't@example.test', GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 't@example.test' },
  }).trim();
}

export function writeFiles(repo: string, files: Record<string, string>): void {
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(repo, p)), { recursive: true });
    writeFileSync(path.join(repo, p), content);
  }
}

/** A repository under `root` on branch main with one commit (README.md, src/app.ts, docs/guide.md). */
export function makeRepo(root: string, name = 'repo'): string {
  const repo = path.join(root, name);
  mkdirSync(repo, { recursive: true });
  git(repo, 'init', '-q', '-b', 'main');
  writeFiles(repo, { 'README.md': '# demo\n', 'src/app.ts': 'export const x = 1;\n', 'docs/guide.md': 'guide\n' });
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'initial');
  return repo;
}

export function commitOn(repo: string, branch: string, files: Record<string, string>, message = 'change'): string {
  const current = git(repo, 'symbolic-ref', '--short', 'HEAD');
  const exists = git(repo, 'branch', '--list', branch) !== '';
  git(repo, 'checkout', '-q', ...(exists ? [branch] : ['-b', branch]));
  writeFiles(repo, files);
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', message);
  const sha = git(repo, 'rev-parse', 'HEAD');
  git(repo, 'checkout', '-q', current);
  return sha;
}

/** Merges `branch` into main (main is checked out in the repository's own working tree). */
export function mergeIntoMain(repo: string, branch: string): void {
  git(repo, 'merge', '-q', '--no-ff', '-m', `merge ${branch}`, branch);
}

export const projectsRoot = (s: TestServer) => path.join(s.config.dataDir, 'projects');

/** A test server with its default project root made, and one user: the start of most project and task tests. */
export async function startProjectServer(opts: Parameters<typeof startTestServer>[0] = {}): Promise<{ s: TestServer; alice: TestUser }> {
  const s = await startTestServer(opts);
  mkdirSync(projectsRoot(s), { recursive: true });
  return { s, alice: await s.user('alice') };
}

export async function createProject(s: TestServer, user: TestUser, repo: string, body: Record<string, unknown> = {}): Promise<string> {
  const r = await s.request('POST', '/api/projects', { token: user.token, body: { name: 'demo', repo_path: repo, base_branch: 'main', ...body } });
  expect(r.status, r.text).toBe(201);
  return r.body.id as string;
}

export async function createTask(s: TestServer, user: TestUser, projectId: string, body: Record<string, unknown> = {}): Promise<string> {
  const r = await s.request('POST', `/api/projects/${projectId}/tasks`, { token: user.token, body: { title: 'task', write_scope: ['src/**'], ...body } });
  expect(r.status, r.text).toBe(201);
  return r.body.id as string;
}

/** Polls a run until it leaves queued/running (the executor works in the background). */
export async function waitForRun(s: TestServer, user: TestUser, taskId: string, runId: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 400; i++) {
    const r = await s.request('GET', `/api/tasks/${taskId}/runs/${runId}`, { token: user.token });
    if (r.status !== 200) throw new Error(`run lookup failed: ${r.status} ${r.text}`);
    if (r.body.status !== 'queued' && r.body.status !== 'running') return r.body;
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error(`run ${runId} did not finish`);
}
