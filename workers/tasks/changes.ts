import { git } from '../../runtime/tasks/git.ts';
import { splitByScope } from '../../runtime/tasks/scope.ts';
import type { RejectedFile } from './types.ts';

/**
 * From a worktree with the agent's edits applied to a commit on the task branch: the changed files are read from
 * `git status` (so a file the agent rewrote with identical content is not a change), split by the run's write
 * scope, the in-scope ones committed, and everything else reported as rejected and discarded by the caller's clean.
 * Paths go to git as literal pathspecs (GIT_LITERAL_PATHSPECS), so a file named `*.ts` is not a glob.
 */
export interface ChangeSet {
  inScope: string[];
  rejected: RejectedFile[];
}

export async function collectChanges(dir: string, writeScope: string[], signal: AbortSignal): Promise<ChangeSet> {
  const { stdout } = await git(dir, ['status', '--porcelain=v1', '-z', '--untracked-files=all', '--ignored=matching', '--no-renames'], { signal });
  const changed: string[] = [];
  const ignored: string[] = [];
  for (const entry of stdout.split('\0')) {
    if (entry.length < 4) continue;
    const code = entry.slice(0, 2);
    const p = entry.slice(3);
    if (code === '!!') ignored.push(p);
    else changed.push(p);
  }
  const { inScope, outOfScope } = splitByScope(changed, writeScope);
  return {
    inScope,
    rejected: [
      ...outOfScope.map((p) => ({ path: p, reason: 'outside write_scope' })),
      ...ignored.map((p) => ({ path: p, reason: 'ignored by .gitignore' })),
    ],
  };
}

export interface Author {
  name: string;
  email: string;
}

/** Stages exactly `paths` and commits them; returns the new head. */
export async function commitPaths(dir: string, paths: string[], message: string, author: Author, signal: AbortSignal): Promise<string> {
  const env = {
    GIT_LITERAL_PATHSPECS: '1',
    GIT_AUTHOR_NAME: author.name,
    GIT_AUTHOR_EMAIL: author.email,
    GIT_COMMITTER_NAME: 'Takos',
    GIT_COMMITTER_EMAIL: 'takos@localhost',
  };
  // In batches, to stay far below the argv limit on a run that touches thousands of files.
  for (let i = 0; i < paths.length; i += 500) {
    await git(dir, ['add', '--all', '--', ...paths.slice(i, i + 500)], { signal, env });
  }
  await git(dir, ['commit', '--quiet', '--no-verify', '-m', message], { signal, env });
  return (await git(dir, ['rev-parse', 'HEAD'], { signal })).stdout.trim();
}
