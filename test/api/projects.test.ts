import { mkdirSync, symlinkSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '../harness.ts';
import { git, makeRepo, projectsRoot } from '../tasks/fixtures.ts';

let s: TestServer;
let alice: TestUser;
let bob: TestUser;
let root: string;
let repo: string;
let outside: string;

beforeAll(async () => {
  s = await startTestServer();
  alice = await s.user('alice');
  bob = await s.user('bob');
  root = projectsRoot(s);
  mkdirSync(root, { recursive: true });
  repo = makeRepo(root, 'app');
  git(repo, 'branch', 'develop');
  outside = makeRepo(await mkdtemp(path.join(os.tmpdir(), 'takos-outside-')), 'secret');
});
afterAll(() => s.close());

const register = (user: TestUser, body: Record<string, unknown>) =>
  s.request('POST', '/api/projects', { token: user.token, body: { name: 'app', repo_path: repo, base_branch: 'main', ...body } });

describe('POST /api/projects', () => {
  it('registers a repository inside the allowed roots, stored by its canonical path', async () => {
    const r = await register(alice, { repo_path: `${root}/./app/` });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ name: 'app', repo_path: repo, base_branch: 'main', space_id: alice.id, created_by: alice.id });
    expect(r.body.id).toMatch(/^[a-z0-9]{12}$/);
    const got = await s.request('GET', `/api/projects/${r.body.id}`, { token: alice.token });
    expect(got.status).toBe(200);
    expect(got.body).toEqual(r.body);
  });

  it('requires authentication', async () => {
    const r = await s.request('POST', '/api/projects', { token: null, body: { name: 'x', repo_path: repo, base_branch: 'main' } });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('UNAUTHORIZED');
  });

  it('refuses relative paths, folders that are not repositories and missing branches with VALIDATION_ERROR', async () => {
    const rel = await register(alice, { repo_path: 'app' });
    expect(rel.status).toBe(422);
    expect(rel.body.error).toMatchObject({ code: 'VALIDATION_ERROR', details: [{ in: 'body', path: 'repo_path' }] });
    mkdirSync(path.join(root, 'plain'), { recursive: true });
    const plain = await register(alice, { repo_path: path.join(root, 'plain') });
    expect(plain.status).toBe(422);
    expect(plain.body.error.message).toBe('repo_path is not a Git repository');
    const missing = await register(alice, { repo_path: path.join(root, 'nope') });
    expect(missing.status).toBe(422);
    expect(missing.body.error.message).toBe('repo_path does not exist');
    const sub = await register(alice, { repo_path: path.join(repo, 'src') });
    expect(sub.status).toBe(422);
    expect(sub.body.error.message).toMatch(/top-level folder/);
    const branch = await register(alice, { base_branch: 'nope' });
    expect(branch.status).toBe(422);
    expect(branch.body.error).toMatchObject({ code: 'VALIDATION_ERROR', details: [{ path: 'base_branch' }] });
    const badName = await register(alice, { base_branch: '--upload-pack=x' });
    expect(badName.status).toBe(422);
    expect(badName.body.error.message).toBe('base_branch is not a valid branch name');
    expect((await register(alice, { repo_path: `${repo}\u0000` })).status).toBe(422);
    expect((await register(alice, { base_branch: 'main\u0000' })).status).toBe(422);
    const shape = await s.request('POST', '/api/projects', { token: alice.token, body: { name: '', repo_path: 5 } });
    expect(shape.status).toBe(422);
  });

  it('refuses paths outside the allowed roots, through "..", and through symbolic links, the same way whether they exist or not', async () => {
    const direct = await register(alice, { repo_path: outside });
    expect(direct.status).toBe(422);
    expect(direct.body.error.message).toMatch(/allowed project roots/);
    const ghost = await register(alice, { repo_path: '/definitely/not/here' });
    expect(ghost.body.error.message).toBe(direct.body.error.message.replace(outside, '/definitely/not/here'));
    const dots = await register(alice, { repo_path: `${root}/../../${path.relative('/', outside)}` });
    expect(dots.status).toBe(422);
    expect(dots.body.error.message).toMatch(/allowed project roots/);
    symlinkSync(outside, path.join(root, 'link'));
    const link = await register(alice, { repo_path: path.join(root, 'link') });
    expect(link.status).toBe(422);
    expect(link.body.error.message).toMatch(/symbolic link/);
  });

  it('refuses a repository whose .git points outside the roots', async () => {
    const inner = path.join(root, 'gitfile');
    mkdirSync(inner, { recursive: true });
    git(outside, 'worktree', 'add', '-q', inner);
    const r = await register(alice, { repo_path: inner, base_branch: 'main' });
    expect(r.status).toBe(422);
    expect(r.body.error.message).toMatch(/Git directory/);
  });

  it('registers into a team space only for editors and above', async () => {
    const team = await s.request('POST', '/api/spaces', { token: alice.token, body: { name: 'Team', slug: 'team-p' } });
    expect(team.status).toBe(201);
    const r = await register(bob, { space_id: team.body.space.id });
    expect(r.status).toBe(404);
    const ok = await register(alice, { space_id: 'team-p' });
    expect(ok.status).toBe(201);
    expect(ok.body.space_id).toBe(team.body.space.id);
  });
});

describe('project access, PATCH and DELETE', () => {
  it('hides a project from non-members (404) and lists only visible ones', async () => {
    const p = (await register(alice, {})).body;
    const other = await s.request('GET', `/api/projects/${p.id}`, { token: bob.token });
    expect(other.status).toBe(404);
    expect(other.body.error).toEqual({ code: 'NOT_FOUND', message: 'Project not found' });
    expect((await s.request('PATCH', `/api/projects/${p.id}`, { token: bob.token, body: { name: 'x' } })).status).toBe(404);
    expect((await s.request('DELETE', `/api/projects/${p.id}`, { token: bob.token })).status).toBe(404);
    const mine = await s.request('GET', '/api/projects', { token: alice.token });
    expect(mine.body.projects.map((x: { id: string }) => x.id)).toContain(p.id);
    const theirs = await s.request('GET', '/api/projects', { token: bob.token });
    expect(theirs.body.projects).toEqual([]);
  });

  it('renames and changes the base branch, re-validating it', async () => {
    const p = (await register(alice, {})).body;
    const r = await s.request('PATCH', `/api/projects/${p.id}`, { token: alice.token, body: { name: 'renamed', base_branch: 'develop' } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ name: 'renamed', base_branch: 'develop', repo_path: repo });
    const bad = await s.request('PATCH', `/api/projects/${p.id}`, { token: alice.token, body: { base_branch: 'gone' } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details[0].path).toBe('base_branch');
    expect((await s.request('GET', `/api/projects/${p.id}`, { token: alice.token })).body.base_branch).toBe('develop');
    const empty = await s.request('PATCH', `/api/projects/${p.id}`, { token: alice.token, body: {} });
    expect(empty.status).toBe(422);
    const repoPath = await s.request('PATCH', `/api/projects/${p.id}`, { token: alice.token, body: { repo_path: '/etc' } });
    expect(repoPath.status).toBe(422);
  });

  it('deletes a project (204), after which it and its tasks are 404, while the task rows are kept', async () => {
    const p = (await register(alice, {})).body;
    const t = await s.request('POST', `/api/projects/${p.id}/tasks`, { token: alice.token, body: { title: 't', write_scope: ['src/**'] } });
    expect(t.status).toBe(201);
    const del = await s.request('DELETE', `/api/projects/${p.id}`, { token: alice.token });
    expect(del.status).toBe(204);
    expect((await s.request('GET', `/api/projects/${p.id}`, { token: alice.token })).status).toBe(404);
    expect((await s.request('GET', `/api/tasks/${t.body.id}`, { token: alice.token })).status).toBe(404);
    expect((await s.request('DELETE', `/api/projects/${p.id}`, { token: alice.token })).status).toBe(404);
    const kept = await s.kernel.sql`SELECT id FROM tasks WHERE id = ${t.body.id}`;
    expect(kept).toHaveLength(1);
  });

  it('rejects malformed ids with 400', async () => {
    const r = await s.request('GET', '/api/projects/bad%20id', { token: alice.token });
    expect(r.status).toBe(400);
  });
});
