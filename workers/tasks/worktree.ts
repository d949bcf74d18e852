import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { git, gitOk, taskBranch } from '../../runtime/tasks/git.ts';
import type { KeyedMutex } from './keyed-mutex.ts';

/**
 * The worktree a task's runs work in: `$TAKOS_DATA_DIR/worktrees/<project id>/task-<task id>`, on the task branch
 * `takos/task-<task id>`. The first run creates the branch from base_branch's tip; later runs continue on it (they
 * do not rebase). The worktree is reused between runs and left clean after each (reset + clean), and it is kept
 * when the project is deleted.
 */
export interface PreparedWorktree {
  dir: string;
  branch: string;
  /** The commit this run starts from. */
  baseSha: string;
  /** True when this run created the branch (baseSha is then its fork point). */
  created: boolean;
}

export const worktreeDir = (dataDir: string, projectId: string, taskId: string) => path.join(dataDir, 'worktrees', projectId, `task-${taskId}`);

async function registeredWorktrees(repo: string, signal: AbortSignal): Promise<Set<string>> {
  const { stdout } = await git(repo, ['worktree', 'list', '--porcelain', '-z'], { signal });
  return new Set(stdout.split('\0').filter((l) => l.startsWith('worktree ')).map((l) => l.slice('worktree '.length)));
}

export async function prepareWorktree(
  opts: { repoPath: string; dataDir: string; projectId: string; taskId: string; baseBranch: string; signal: AbortSignal },
  repoLocks: KeyedMutex,
): Promise<PreparedWorktree> {
  const { repoPath: repo, signal } = opts;
  const branch = taskBranch(opts.taskId);
  const dir = worktreeDir(opts.dataDir, opts.projectId, opts.taskId);
  let created = false;
  await repoLocks.run(repo, async () => {
    // Drops registrations of worktree folders removed by hand, which would otherwise block `worktree add`.
    await git(repo, ['worktree', 'prune'], { signal });
    const registered = (await registeredWorktrees(repo, signal)).has(dir);
    const onDisk = await stat(dir).then(() => true, () => false);
    if (registered && onDisk) return;
    if (onDisk) await rm(dir, { recursive: true, force: true });
    await mkdir(path.dirname(dir), { recursive: true });
    if (await gitOk(repo, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`])) {
      await git(repo, ['worktree', 'add', '--quiet', dir, branch], { signal });
    } else {
      const base = (await git(repo, ['rev-parse', '--verify', `refs/heads/${opts.baseBranch}^{commit}`], { signal })).stdout.trim();
      await git(repo, ['worktree', 'add', '--quiet', '-b', branch, dir, base], { signal });
      created = true;
    }
  });
  const head = (await git(dir, ['symbolic-ref', '--quiet', 'HEAD'], { signal }).catch(() => ({ stdout: '' }))).stdout.trim();
  if (head !== `refs/heads/${branch}`) await git(dir, ['checkout', '--quiet', branch], { signal });
  await cleanWorktree(dir, signal);
  const baseSha = (await git(dir, ['rev-parse', 'HEAD'], { signal })).stdout.trim();
  return { dir, branch, baseSha, created };
}

/** Back to the branch tip: no modified, untracked or ignored files (the worktree is ours alone). */
export async function cleanWorktree(dir: string, signal?: AbortSignal): Promise<void> {
  await git(dir, ['reset', '--quiet', '--hard', 'HEAD'], signal ? { signal } : {});
  await git(dir, ['clean', '-ffdxq'], signal ? { signal } : {});
}
