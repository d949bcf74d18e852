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

  it('reports a repository that cannot be read instead of throwing', async () => {
    const obs = new RefObserver();
    const out = await obs.observe(path.join(os.tmpdir(), 'takos-no-such-repo'), 'main');
    expect(out.facts.available).toBe(false);
  });
});
