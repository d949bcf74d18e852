import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IsoGitWorkingCopyStore } from '../../workers/sessions/iso-store.ts';
import { reapWorkingCopies } from '../../workers/sessions/reaper.ts';
import { startTestServer } from '../harness.ts';
import { startSession, team } from './fixtures.ts';

/**
 * The isomorphic-git WorkingCopyStore on its own, checked with the real git CLI: what a stop writes into the bare
 * repository (modes, symlinks, deletions, ignored files), what the runtime can do with git inside its checkout, and
 * the branch update protocol under concurrency and a stale lock.
 */
let dir: string;
let store: IsoGitWorkingCopyStore;
const repo = { id: 'repoone', name: 'one', defaultBranch: 'main' };
const author = { name: 'Ada', email: 'ada@example.test' };

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'takos-wc-'));
  store = new IsoGitWorkingCopyStore(dir);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const bare = (...args: string[]) => execFileSync('git', ['--git-dir', path.join(dir, 'repos', `${repo.id}.git`), ...args], { encoding: 'utf8' });
const inWork = (work: string, ...args: string[]) =>
  execFileSync('git', ['-C', work, '-c', 'user.name=Runtime', '-c', 'user.email=rt@example.test', ...args], { encoding: 'utf8' });
const commit = (sessionId: string, baseCommit: string, branch = 'main', message = 'msg') => store.commit({ sessionId, repo, branch, baseCommit, message, author });

describe('IsoGitWorkingCopyStore', () => {
  it('keeps modes and symlinks, removes deleted directories, honours .gitignore', async () => {
    const o = await store.open({ sessionId: 'wc1', repo, branch: 'main' });
    await mkdir(path.join(o.workDir, 'bin'), { recursive: true });
    await writeFile(path.join(o.workDir, 'bin', 'run.sh'), '#!/bin/sh\necho hi\n');
    await chmod(path.join(o.workDir, 'bin', 'run.sh'), 0o755);
    await symlink('bin/run.sh', path.join(o.workDir, 'run'));
    await mkdir(path.join(o.workDir, 'node_modules', 'x'), { recursive: true });
    await writeFile(path.join(o.workDir, 'node_modules', 'x', 'index.js'), 'ignored\n');
    await writeFile(path.join(o.workDir, '.gitignore'), 'node_modules/\n');
    await mkdir(path.join(o.workDir, 'docs', 'old'), { recursive: true });
    await writeFile(path.join(o.workDir, 'docs', 'old', 'a.md'), 'a\n');
    const c1 = await commit('wc1', o.baseCommit);
    expect(c1.committed).toBe(true);
    expect(bare('ls-tree', '-r', 'main').trim().split('\n').map((l) => l.replace(/ [0-9a-f]{40}/, ''))).toEqual([
      '100644 blob\t.gitignore',
      '100644 blob\tREADME.md',
      '100755 blob\tbin/run.sh',
      '100644 blob\tdocs/old/a.md',
      '120000 blob\trun',
    ]);
    expect(bare('cat-file', '-p', 'main:run')).toBe('bin/run.sh');

    const o2 = await store.open({ sessionId: 'wc2', repo, branch: 'main' });
    expect(o2.baseCommit).toBe(c1.commit);
    expect(o2.fileCount).toBe(5);
    await rm(path.join(o2.workDir, 'docs'), { recursive: true });
    const c2 = await commit('wc2', o2.baseCommit);
    expect(c2.files).toEqual([{ path: 'docs/old/a.md', change: 'deleted' }]);
    expect(bare('ls-tree', '-d', '--name-only', 'main').trim().split('\n')).toEqual(['bin']);
    bare('fsck', '--strict');
  });

  it('the runtime may use git in its checkout; its own commits are part of what stop writes', async () => {
    const o = await store.open({ sessionId: 'wc3', repo, branch: 'main' });
    expect(inWork(o.workDir, 'status', '--porcelain')).toBe('');
    expect(inWork(o.workDir, 'log', '--format=%H').trim()).toBe(o.baseCommit);
    await writeFile(path.join(o.workDir, 'committed.txt'), 'by the runtime\n');
    inWork(o.workDir, 'add', 'committed.txt');
    inWork(o.workDir, 'commit', '-q', '-m', 'runtime commit');
    await writeFile(path.join(o.workDir, 'loose.txt'), 'not committed\n');
    const c = await commit('wc3', o.baseCommit, 'main', 'Session wc3');
    expect(c.files.map((f) => f.path)).toEqual(['committed.txt', 'loose.txt']);
    // One commit on the branch, on top of the base, whatever the runtime did locally.
    expect(bare('rev-parse', 'main^').trim()).toBe(o.baseCommit);
    expect(bare('log', '-1', '--format=%an %s', 'main').trim()).toBe('Ada Session wc3');
  });

  it('concurrent stops on one branch all land (compare-and-swap on the ref, redone on the new head)', async () => {
    const opened = await Promise.all([0, 1, 2, 3, 4].map((i) => store.open({ sessionId: `cc${i}`, repo, branch: 'main' })));
    await Promise.all(opened.map((o, i) => writeFile(path.join(o.workDir, `f${i}.txt`), `${i}\n`)));
    const results = await Promise.all(opened.map((o, i) => commit(`cc${i}`, o.baseCommit)));
    expect(results.every((r) => r.committed)).toBe(true);
    const files = bare('ls-tree', '--name-only', 'main');
    for (let i = 0; i < 5; i++) expect(files).toContain(`f${i}.txt`);
    expect(bare('rev-list', '--count', `${opened[0]!.baseCommit}..main`).trim()).toBe('5');
    bare('fsck', '--strict');
  });

  it('a lock left by a dead writer is taken over once stale; a live one makes the stop wait', async () => {
    const o = await store.open({ sessionId: 'lk1', repo, branch: 'main' });
    await writeFile(path.join(o.workDir, 'locked.txt'), 'x\n');
    const lock = path.join(dir, 'repos', `${repo.id}.git`, 'refs', 'heads', 'main.lock');
    await writeFile(lock, 'stale\n');
    const old = new Date(Date.now() - 120_000);
    await utimes(lock, old, old);
    expect((await commit('lk1', o.baseCommit)).committed).toBe(true);

    const o2 = await store.open({ sessionId: 'lk2', repo, branch: 'main' });
    await writeFile(path.join(o2.workDir, 'waited.txt'), 'y\n');
    await writeFile(lock, 'live\n');
    const pending = commit('lk2', o2.baseCommit);
    await new Promise((r) => setTimeout(r, 300));
    await unlink(lock);
    expect((await pending).committed).toBe(true);
    expect(bare('show', 'main:waited.txt')).toBe('y\n');
  });

  it('a working copy that is gone cannot be committed (409); drop and list', async () => {
    await store.open({ sessionId: 'gone1', repo, branch: 'main' });
    expect(await store.list()).toContain('gone1');
    await store.drop('gone1');
    await store.drop('gone1');
    expect(await store.exists('gone1')).toBe(false);
    await expect(commit('gone1', bare('rev-parse', 'main').trim())).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('a bare repository can be read back after `git gc` packs its objects and refs', async () => {
    bare('gc', '-q');
    const o = await store.open({ sessionId: 'gc1', repo, branch: 'main' });
    expect(await readFile(path.join(o.workDir, 'README.md'), 'utf8')).toBe('# one\n');
    await writeFile(path.join(o.workDir, 'after-gc.txt'), 'z\n');
    expect((await commit('gc1', o.baseCommit)).committed).toBe(true);
    expect(bare('show', 'main:after-gc.txt')).toBe('z\n');
    bare('fsck', '--strict');
  });
});

describe('reaping leftover working copies', () => {
  it('removes those of discarded and failed sessions and unknown folders; keeps running, stopped and dead ones', async () => {
    const s = await startTestServer();
    try {
      const t = await team(s, 'Reap');
      const live = await startSession(s, t);
      const dead = await startSession(s, t);
      const discarded = await startSession(s, t);
      await s.kernel.sql`UPDATE runtime_sessions SET status = 'dead' WHERE id = ${dead.id}`;
      await s.kernel.sql`UPDATE runtime_sessions SET status = 'discarded' WHERE id = ${discarded.id}`;
      await s.deps.workingCopies.open({ sessionId: 'orphanfolder', repo: { id: t.repoId, name: 'default', defaultBranch: 'main' }, branch: 'main' });
      const removed = await reapWorkingCopies(s.kernel.sql, s.deps.workingCopies, s.kernel.log);
      expect(removed).toBe(2);
      expect((await s.deps.workingCopies.list()).sort()).toEqual([live.id, dead.id].sort());
    } finally {
      await s.close();
    }
  });
});
