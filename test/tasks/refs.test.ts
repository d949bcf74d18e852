import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RefObserver } from '../../runtime/tasks/refs.ts';
import { commitOn, git, makeRepo, mergeIntoMain } from './fixtures.ts';

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
    expect(obs.stats).toEqual({ full: 1, incremental: 0 });

    const a2 = commitOn(repo, 'takos/task-a', { 'a.txt': 'a2\n' });
    expect((await check()).tips.get('takos/task-a')).toBe(a2);
    expect(obs.stats).toEqual({ full: 1, incremental: 1 });

    mergeIntoMain(repo, 'takos/task-a');
    expect((await check()).merged.has('takos/task-a')).toBe(true);
    expect(obs.stats).toEqual({ full: 1, incremental: 2 });

    // A new branch at the base's tip is merged; one at an old commit of a branch is not.
    git(repo, 'branch', 'takos/task-c', 'main');
    git(repo, 'branch', 'takos/task-d', a1);
    const both = await check();
    expect(both.merged.has('takos/task-c')).toBe(true);
    expect(both.merged.has('takos/task-d')).toBe(true);
    commitOn(repo, 'takos/task-d', { 'd.txt': 'd\n' });
    expect((await check()).merged.has('takos/task-d')).toBe(false);
    expect(obs.stats).toEqual({ full: 1, incremental: 4 });

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
    expect(obs.stats).toEqual({ full: 5, incremental: 4 });
    const a4 = commitOn(repo, 'takos/task-a', { 'a.txt': 'a4\n' });
    expect((await check()).tips.get('takos/task-a')).toBe(a4);
    expect(obs.stats).toEqual({ full: 5, incremental: 5 });
    obs.close();
  });

  it('reports a repository that cannot be read instead of throwing', async () => {
    const obs = new RefObserver();
    const out = await obs.observe(path.join(os.tmpdir(), 'takos-no-such-repo'), 'main');
    expect(out.facts.available).toBe(false);
  });
});
