import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockProject } from '../../http/api/projects/queries.ts';
import { changedSince, KEPT_VERSIONS } from '../../runtime/tasks/changes.ts';
import type { TestServer, TestUser } from '../harness.ts';
import { createProject, createTask, makeRepo, projectsRoot, startProjectServer } from './fixtures.ts';

let s: TestServer;
let alice: TestUser;
beforeAll(async () => {
  ({ s, alice } = await startProjectServer());
});
afterAll(() => s.close());

describe('project change log', () => {
  it('names the tasks changed between two versions, and nothing when a version left no record', async () => {
    const projectId = await createProject(s, alice, makeRepo(projectsRoot(s), 'changes'), { name: 'changes' });
    const a = await createTask(s, alice, projectId, { title: 'a' });
    const b = await createTask(s, alice, projectId, { title: 'b' });
    const version = async () => (await s.deps.sql<Array<{ v: string }>>`SELECT version::text AS v FROM projects WHERE id = ${projectId}`)[0]!.v;
    const bump = (ids?: string[]) => s.deps.sql.begin((tx) => lockProject(tx, projectId, ids));
    const v0 = await version();
    await bump([a]);
    await bump([b, a]);
    const v2 = await version();
    expect(await changedSince(s.deps.sql, projectId, v0, v2)).toEqual(new Set([a, b]));
    expect(await changedSince(s.deps.sql, projectId, String(BigInt(v0) + 1n), v2)).toEqual(new Set([b, a]));
    expect(await changedSince(s.deps.sql, projectId, v2, v2)).toBeNull();
    // A write that records nothing (creating a task does not) leaves a gap: the reader must read everything.
    await createTask(s, alice, projectId, { title: 'c' });
    const v3 = await version();
    expect(await changedSince(s.deps.sql, projectId, v0, v3)).toBeNull();
    await bump([a]);
    expect(await changedSince(s.deps.sql, projectId, v3, await version())).toEqual(new Set([a]));
  });

  it('keeps only recent versions, and answers nothing for a span longer than that', async () => {
    const projectId = await createProject(s, alice, makeRepo(projectsRoot(s), 'changes-prune'), { name: 'prune' });
    const a = await createTask(s, alice, projectId, { title: 'a' });
    for (let i = 0; i < KEPT_VERSIONS + 70; i++) await s.deps.sql.begin((tx) => lockProject(tx, projectId, [a]));
    const [p] = await s.deps.sql<Array<{ v: string }>>`SELECT version::text AS v FROM projects WHERE id = ${projectId}`;
    const [kept] = await s.deps.sql<Array<{ n: number; oldest: string }>>`
      SELECT count(*)::int AS n, min(version)::text AS oldest FROM project_changes WHERE project_id = ${projectId}`;
    const { v } = p!;
    const { n, oldest } = kept!;
    // Pruned every 64 versions: between KEPT_VERSIONS and KEPT_VERSIONS + 64 records remain, the newest ones.
    expect(n).toBeGreaterThanOrEqual(KEPT_VERSIONS);
    expect(n).toBeLessThan(KEPT_VERSIONS + 64);
    expect(BigInt(v) - BigInt(oldest) + 1n).toBe(BigInt(n));
    expect(await changedSince(s.deps.sql, projectId, String(BigInt(v) - BigInt(KEPT_VERSIONS)), v)).toEqual(new Set([a]));
    expect(await changedSince(s.deps.sql, projectId, String(BigInt(v) - BigInt(KEPT_VERSIONS) - 1n), v)).toBeNull();
  }, 60_000);
});
