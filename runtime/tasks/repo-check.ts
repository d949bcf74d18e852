import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { git, GitError, gitOk } from './git.ts';

/**
 * Validation of a project's repository, in the order that reveals nothing about folders outside the allowed roots:
 *
 *  1. `repo_path` must be absolute, and lexically (after `..` is resolved) inside an allowed root: checked before the
 *     filesystem is touched, so a path outside the roots gets the same answer whether it exists or not.
 *  2. Its realpath (symlinks resolved) must still be inside an allowed root's realpath: a symlink under a root that
 *     points elsewhere does not escape.
 *  3. It must be the top level of a Git working tree (or a bare repository's own folder), and the repository's common
 *     git dir must be inside the roots too (a `.git` file pointing elsewhere would otherwise escape).
 */
export type Check<T> = { ok: true; value: T } | { ok: false; message: string };

export interface CheckedRepo {
  /** Canonical top level (or bare repository folder); what the project stores. */
  repoPath: string;
  /** The repository's shared git dir, where refs live (worktrees share it). */
  commonDir: string;
  bare: boolean;
}

const inside = (child: string, root: string) => child === root || child.startsWith(root.endsWith(path.sep) ? root : root + path.sep);

async function realRoots(roots: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const r of roots) {
    try {
      out.push(await realpath(r));
    } catch {
      /* a configured root that does not exist (yet) allows nothing */
    }
  }
  return out;
}

export async function checkRepository(roots: string[], input: string): Promise<Check<CheckedRepo>> {
  if (!path.isAbsolute(input)) return { ok: false, message: 'repo_path must be an absolute path' };
  const lexical = path.resolve(input);
  const reals = await realRoots(roots);
  const allowed = `must be inside one of the allowed project roots (${roots.join(', ')}; TAKOS_PROJECT_ROOTS)`;
  if (!roots.some((r) => inside(lexical, r)) && !reals.some((r) => inside(lexical, r))) return { ok: false, message: `repo_path ${allowed}` };
  let real: string;
  try {
    real = await realpath(lexical);
  } catch {
    return { ok: false, message: 'repo_path does not exist' };
  }
  if (!reals.some((r) => inside(real, r))) return { ok: false, message: `repo_path resolves (through a symbolic link) outside the allowed roots; it ${allowed}` };
  let out: string;
  try {
    out = (await git(real, ['rev-parse', '--is-bare-repository', '--path-format=absolute', '--git-common-dir'])).stdout;
  } catch (err) {
    if (err instanceof GitError) return { ok: false, message: 'repo_path is not a Git repository' };
    throw err;
  }
  const [bareFlag, commonRaw] = out.trim().split('\n');
  const bare = bareFlag === 'true';
  const commonDir = await realpath(commonRaw ?? '').catch(() => null);
  if (!commonDir || !reals.some((r) => inside(commonDir, r))) return { ok: false, message: `the Git directory of repo_path ${allowed}` };
  const top = bare ? commonDir : await git(real, ['rev-parse', '--show-toplevel']).then((r) => realpath(r.stdout.trim())).catch(() => null);
  if (top !== real) return { ok: false, message: 'repo_path must be the top-level folder of a Git repository, not a folder inside one' };
  return { ok: true, value: { repoPath: real, commonDir, bare } };
}

/** Branch names we accept: git's own rules (check-ref-format), and nothing that could read as an option. */
export async function checkBaseBranch(repoPath: string, branch: string): Promise<Check<string>> {
  if (branch.startsWith('-') || !(await gitOk(repoPath, ['check-ref-format', '--branch', branch]))) {
    return { ok: false, message: 'base_branch is not a valid branch name' };
  }
  if (!(await gitOk(repoPath, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`]))) {
    return { ok: false, message: `base_branch "${branch}" does not exist in the repository` };
  }
  return { ok: true, value: branch };
}
