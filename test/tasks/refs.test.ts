import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CommitGraphKeeper } from '../../runtime/tasks/commit-graph.ts';
import { GitSpawner } from '../../runtime/tasks/git-spawner.ts';
import { RefObserver } from '../../runtime/tasks/refs.ts';
import { commitOn, git, makeRepo, mergeIntoMain } from './fixtures.ts';

/** Commits in a repository's split commit-graph: per layer, the last entry of its OID fanout chunk (format: git's gitformat-commit-graph). */
function graphCommits(repo: string): number {
  const dir = path.join(repo, '.git', 'objects', 'info', 'commit-graphs');
  let n = 0;
  for (const layer of readFileSync(path.join(dir, 'commit-graph-chain'), 'utf8').trim().split('\n')) {
    const g = readFileSync(path.join(dir, `graph-${layer}.graph`));
    expect(g.toString('latin1', 0, 4)).toBe('CGPH');
    // Header: signature, version, hash version, chunk count, base graph count; then 12-byte chunk table entries.
    for (let c = 0; c < g[6]!; c++) {
      const at = 8 + c * 12;
      if (g.toString('latin1', at, at + 4) === 'OIDF') n += g.readUInt32BE(Number(g.readBigUInt64BE(at + 4)) + 255 * 4);
    }
  }
  return n;
}

describe('RefObserver', () => {
  it('reads tips and merged task branches, and sees every kind of ref change through its cache', async () => {
    const repo = makeRepo(await mkdtemp(path.join(os.tmpdir(), 'takos-refs-')));
    for (let i = 0; i < 30; i++) git(repo, 'branch', `takos/task-b${i}`);
    const a = commitOn(repo, 'takos/task-a', { 'a.txt': 'a\n' });
    const obs = new RefObserver();
    const first = await obs.observe(repo, 'main');
    expect(first.facts).toMatchObject({ available: true, baseSha: git(repo, 'rev-parse', 'main') });
    expect(first.facts.tips.get('takos/task-a')).toBe(a);
    expect(first.facts.tips.size).toBe(31);
    expect(first.facts.merged.has('takos/task-b0')).toBe(true);
    expect(first.facts.merged.has('takos/task-a')).toBe(false);
    // Unchanged refs: the same cached answer.
    const again = await obs.observe(repo, 'main');
    expect(again.key).toBe(first.key);
    expect(again.facts).toBe(first.facts);

    mergeIntoMain(repo, 'takos/task-a');
    const merged = await obs.observe(repo, 'main');
    expect(merged.key).not.toBe(first.key);
    expect(merged.facts.merged.has('takos/task-a')).toBe(true);

    const b = commitOn(repo, 'takos/task-a', { 'a.txt': 'a2\n' });
    const moved = await obs.observe(repo, 'main');
    expect(moved.facts.tips.get('takos/task-a')).toBe(b);
    expect(moved.facts.merged.has('takos/task-a')).toBe(false);

    git(repo, 'pack-refs', '--all');
    git(repo, 'branch', '-D', 'takos/task-b3');
    const packed = await obs.observe(repo, 'main');
    expect(packed.facts.tips.has('takos/task-b3')).toBe(false);
    expect(packed.facts.tips.get('takos/task-a')).toBe(b);
  });

  it('reads a moved branch or a merge by the changed refs alone, and lists everything again when that is not safe', async () => {
    const repo = makeRepo(await mkdtemp(path.join(os.tmpdir(), 'takos-refs-inc-')));
    for (let i = 0; i < 10; i++) git(repo, 'branch', `takos/task-b${i}`);
    const a1 = commitOn(repo, 'takos/task-a', { 'a.txt': 'a\n' });
    const obs = new RefObserver();
    // Every answer must equal what a fresh observer (a full listing) reads from the same repository.
    const check = async () => {
      const got = (await obs.observe(repo, 'main')).facts;
      const full = (await new RefObserver().observe(repo, 'main')).facts;
      expect(got.baseSha).toBe(full.baseSha);
      expect(new Map(got.tips)).toEqual(full.tips);
      expect(new Set(got.merged)).toEqual(full.merged);
      return got;
    };
    await check();
    expect(obs.stats).toEqual({ full: 1, incremental: 0, fromParents: 0 });

    const a2 = commitOn(repo, 'takos/task-a', { 'a.txt': 'a2\n' });
    expect((await check()).tips.get('takos/task-a')).toBe(a2);
    // A commit on a branch not in main: its parent, the old tip, says it is not in main either; no git call.
    expect(obs.stats).toEqual({ full: 1, incremental: 1, fromParents: 1 });

    mergeIntoMain(repo, 'takos/task-a');
    expect((await check()).merged.has('takos/task-a')).toBe(true);
    expect(obs.stats).toEqual({ full: 1, incremental: 2, fromParents: 1 });

    // A new branch at the base's tip is merged; one at an old commit of a branch is not.
    git(repo, 'branch', 'takos/task-c', 'main');
    git(repo, 'branch', 'takos/task-d', a1);
    const both = await check();
    expect(both.merged.has('takos/task-c')).toBe(true);
    expect(both.merged.has('takos/task-d')).toBe(true);
    commitOn(repo, 'takos/task-d', { 'd.txt': 'd\n' });
    expect((await check()).merged.has('takos/task-d')).toBe(false);
    // Both asked git: a1, task-d's parent, is in main by then.
    expect(obs.stats).toEqual({ full: 1, incremental: 4, fromParents: 1 });

    // A base branch moved back: branches merged before may not be any more, so everything is listed again.
    git(repo, 'reset', '-q', '--hard', 'main~1');
    expect((await check()).merged.has('takos/task-a')).toBe(false);
    expect(obs.stats.full).toBe(2);
    // A deleted ref, and packed refs, are listed again too.
    git(repo, 'branch', '-D', 'takos/task-b1');
    expect((await check()).tips.has('takos/task-b1')).toBe(false);
    expect(obs.stats.full).toBe(3);
    git(repo, 'pack-refs', '--all');
    await check();
    expect(obs.stats.full).toBe(4);
    // Packing removed the loose refs' folder, so the first loose ref written after it is read in full (with a watch
    // on the new folder), the next incrementally.
    const a3 = commitOn(repo, 'takos/task-a', { 'a.txt': 'a3\n' });
    expect((await check()).tips.get('takos/task-a')).toBe(a3);
    expect(obs.stats).toEqual({ full: 5, incremental: 4, fromParents: 1 });
    const a4 = commitOn(repo, 'takos/task-a', { 'a.txt': 'a4\n' });
    expect((await check()).tips.get('takos/task-a')).toBe(a4);
    expect(obs.stats).toEqual({ full: 5, incremental: 5, fromParents: 2 });
    obs.close();
  });

  it('answers a branch that moved forward from its loose commit, and asks git where parents may mislead', async () => {
    const repo = makeRepo(await mkdtemp(path.join(os.tmpdir(), 'takos-refs-parents-')));
    commitOn(repo, 'takos/task-a', { 'a.txt': 'a\n' });
    commitOn(repo, 'takos/task-b', { 'b.txt': 'b\n' });
    const obs = new RefObserver();
    const check = async () => {
      const got = (await obs.observe(repo, 'main')).facts;
      const full = (await new RefObserver().observe(repo, 'main')).facts;
      expect(new Map(got.tips)).toEqual(full.tips);
      expect(new Set(got.merged)).toEqual(full.merged);
      return got;
    };
    await check();
    // main merged into the branch: two parents, one of them the old, unmerged tip.
    git(repo, 'checkout', '-q', 'takos/task-a');
    commitOn(repo, 'main', { 'm.txt': 'm\n' });
    git(repo, 'checkout', '-q', 'takos/task-a');
    git(repo, 'merge', '-q', '--no-ff', '-m', 'main into a', 'main');
    git(repo, 'checkout', '-q', 'main');
    // The base moved too (the commit on main): its gained commits come from git, the branch's parents are not used.
    expect((await check()).merged.has('takos/task-a')).toBe(false);
    expect(obs.stats.fromParents).toBe(0);
    commitOn(repo, 'takos/task-a', { 'a.txt': 'a2\n' });
    expect((await check()).merged.has('takos/task-a')).toBe(false);
    expect(obs.stats).toEqual({ full: 1, incremental: 2, fromParents: 1 });

    // A packed commit is not read here: git answers.
    const b2 = git(repo, 'commit-tree', '-p', 'takos/task-b', '-m', 'b2', 'takos/task-b^{tree}');
    git(repo, 'update-ref', 'refs/keep/b2', b2);
    git(repo, 'gc', '-q');
    // gc packed the refs too: the first loose ref written after it is read in full (refs.ts), the next one not.
    commitOn(repo, 'takos/task-a', { 'a.txt': 'a3\n' });
    await check();
    expect(obs.stats).toEqual({ full: 2, incremental: 2, fromParents: 1 });
    git(repo, 'update-ref', 'refs/heads/takos/task-b', b2);
    expect((await check()).merged.has('takos/task-b')).toBe(false);
    expect(obs.stats).toEqual({ full: 2, incremental: 3, fromParents: 1 });

    // A replace ref: git commands differ on whether they follow it (log does, merge-base 2.39 does not), so the
    // shortcut stays out and git answers.
    const b3 = git(repo, 'commit-tree', '-p', b2, '-m', 'b3', 'takos/task-b^{tree}');
    git(repo, 'replace', b3, git(repo, 'rev-parse', 'main'));
    git(repo, 'update-ref', 'refs/heads/takos/task-b', b3);
    const seen = await check();
    expect(seen.tips.get('takos/task-b')).toBe(b3);
    expect(obs.stats).toEqual({ full: 2, incremental: 4, fromParents: 1 });
    obs.close();
  });

  it('keeps git\'s commit-graph current after full reads and after new commits, and survives a failed write', async () => {
    const repo = makeRepo(await mkdtemp(path.join(os.tmpdir(), 'takos-refs-graph-')));
    commitOn(repo, 'takos/task-a', { 'a.txt': 'a\n' });
    const spawner = new GitSpawner();
    const keeper = new CommitGraphKeeper(spawner, 60_000, 2);
    const obs = new RefObserver(256, spawner, keeper);
    const chain = path.join(repo, '.git', 'objects', 'info', 'commit-graphs', 'commit-graph-chain');
    expect(existsSync(chain)).toBe(false);
    const first = await obs.observe(repo, 'main');
    await keeper.settled();
    expect(keeper.stats).toEqual({ started: 1, failed: 0 });
    expect(existsSync(chain)).toBe(true);
    // git reads it back: every commit of the repository is in it, and it verifies.
    git(repo, 'commit-graph', 'verify');
    expect(graphCommits(repo)).toBe(2);
    // A second full read within the interval does not write again; the answer is the same as without a graph.
    obs.invalidate(repo);
    const second = await obs.observe(repo, 'main');
    await keeper.settled();
    expect(keeper.stats.started).toBe(1);
    expect(new Map(second.facts.tips)).toEqual(first.facts.tips);
    expect(new Set(second.facts.merged)).toEqual(first.facts.merged);
    // New commits read incrementally: the second one reaches commitsPerRefresh (2), and the graph takes them in.
    const b1 = commitOn(repo, 'takos/task-a', { 'a.txt': 'b1\n' });
    await obs.observe(repo, 'main');
    await keeper.settled();
    expect(keeper.stats.started).toBe(1);
    const b2 = commitOn(repo, 'takos/task-a', { 'a.txt': 'b2\n' });
    expect((await obs.observe(repo, 'main')).facts.tips.get('takos/task-a')).toBe(b2);
    await keeper.settled();
    expect(keeper.stats).toEqual({ started: 2, failed: 0 });
    git(repo, 'commit-graph', 'verify');
    // Both are in the graph now: all four commits of the repository.
    expect(graphCommits(repo)).toBe(4);
    expect(git(repo, 'rev-list', '--count', `${b1}..${b2}`)).toBe('1');

    // A repository git cannot write into: the refresh fails quietly and reads still answer.
    const locked = makeRepo(await mkdtemp(path.join(os.tmpdir(), 'takos-refs-graph-ro-')));
    const lock = path.join(locked, '.git', 'objects', 'info', 'commit-graphs', 'commit-graph-chain.lock');
    mkdirSync(path.dirname(lock), { recursive: true });
    writeFileSync(lock, '');
    const ro = await obs.observe(locked, 'main');
    await keeper.settled();
    expect(ro.facts.available).toBe(true);
    expect(keeper.stats).toEqual({ started: 3, failed: 1 });
    obs.close();
    spawner.close();
  });

  it('reports a repository that cannot be read instead of throwing', async () => {
    const obs = new RefObserver();
    const out = await obs.observe(path.join(os.tmpdir(), 'takos-no-such-repo'), 'main');
    expect(out.facts.available).toBe(false);
  });
});
