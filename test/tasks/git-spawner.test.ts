import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GitError } from '../../runtime/tasks/git.ts';
import { GitSpawner } from '../../runtime/tasks/git-spawner.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'takos-spawner-'));
const repo = path.join(dir, 'repo');
execFileSync('git', ['init', '-q', '-b', 'main', repo]);
execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@example.test', 'commit', '-q', '--allow-empty', '-m', 'one']);
const head = execFileSync('git', ['-C', repo, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
const spawner = new GitSpawner();
afterAll(() => {
  spawner.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('GitSpawner (git run from a helper process)', () => {
  it('answers like git: stdout of concurrent calls, each to its caller', async () => {
    const [a, b] = await Promise.all([spawner.run(repo, ['rev-parse', 'HEAD']), spawner.run(repo, ['for-each-ref', '--format=%(refname)'])]);
    expect(a.stdout.trim()).toBe(head);
    expect(b.stdout.trim()).toBe('refs/heads/main');
  });

  it('rejects with a GitError carrying the exit code and stderr, and refuses NUL bytes', async () => {
    const err = await spawner.run(repo, ['rev-parse', '--verify', 'no-such-ref']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitError);
    expect((err as GitError).code).toBe(128);
    expect((err as GitError).stderr).toMatch(/needed a single revision/i);
    await expect(spawner.run(repo, ['log', 'a\0b'])).rejects.toBeInstanceOf(GitError);
  });

  it('fails the calls in flight when the helper dies, and starts a new one for the next call', async () => {
    const child = (spawner as unknown as { child: { kill: (s: string) => void } | null }).child!;
    const inFlight = spawner.run(repo, ['rev-parse', 'HEAD']);
    child.kill('SIGKILL');
    const outcome = await inFlight.then(
      (r) => r.stdout.trim(),
      (e: unknown) => e,
    );
    // Either it answered before the kill landed, or it failed with a GitError: never a hang.
    if (typeof outcome !== 'string') expect(outcome).toBeInstanceOf(GitError);
    else expect(outcome).toBe(head);
    expect((await spawner.run(repo, ['rev-parse', 'HEAD'])).stdout.trim()).toBe(head);
  });
});
