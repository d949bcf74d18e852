import { execFile } from 'node:child_process';

/**
 * The one way this codebase runs the `git` CLI on a project repository: argv only (never a shell), no prompts, C
 * locale (so messages can be parsed), and hooks and fsmonitor switched off for every call, because a repository
 * under the project roots may carry hooks we must not execute when we commit into it or read its status.
 */
export interface GitResult {
  stdout: string;
  stderr: string;
}

export class GitError extends Error {
  constructor(
    readonly args: string[],
    readonly code: number | string | null,
    readonly stderr: string,
  ) {
    super(`git ${args[0] ?? ''} failed${code != null ? ` (${code})` : ''}: ${stderr.trim().split('\n').slice(-3).join(' ') || 'no output'}`);
  }
}

const SAFE_CONFIG = ['-c', 'core.hooksPath=/dev/null', '-c', 'core.fsmonitor=false', '-c', 'core.quotePath=false'];

/** Environment of every git call: no prompts, C locale, no optional locks (reads never block writers). */
export const GIT_ENV = { GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', GIT_OPTIONAL_LOCKS: '0' };

export interface GitOptions {
  signal?: AbortSignal;
  env?: Record<string, string>;
  /** Largest stdout accepted; a ref listing of 5,000 branches is ~300 KB. */
  maxBuffer?: number;
}

/** The argv of a git call on `cwd` (with SAFE_CONFIG), or a GitError when an argument holds a NUL byte. */
export function gitArgv(cwd: string, args: string[]): string[] | GitError {
  if (cwd.includes('\0') || args.some((a) => a.includes('\0'))) return new GitError(args, null, 'argument contains a NUL byte');
  return ['-C', cwd, ...SAFE_CONFIG, ...args];
}

export function git(cwd: string, args: string[], opts: GitOptions = {}): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const argv = gitArgv(cwd, args);
    if (argv instanceof GitError) {
      reject(argv);
      return;
    }
    execFile(
      'git',
      argv,
      {
        encoding: 'utf8',
        maxBuffer: opts.maxBuffer ?? 64 * 1024 * 1024,
        ...(opts.signal ? { signal: opts.signal } : {}),
        env: { ...process.env, ...GIT_ENV, ...opts.env },
      },
      (err, stdout, stderr) => {
        if (err) {
          const e = err as NodeJS.ErrnoException & { code?: number | string };
          if (e.name === 'AbortError') reject(err);
          else reject(new GitError(args, e.code ?? null, stderr || e.message));
          return;
        }
        resolve({ stdout, stderr });
      },
    );
  });
}

/** `git ...` that answers yes/no through its exit status (rev-parse --verify, merge-base --is-ancestor). */
export async function gitOk(cwd: string, args: string[]): Promise<boolean> {
  try {
    await git(cwd, args);
    return true;
  } catch (err) {
    if (err instanceof GitError) return false;
    throw err;
  }
}

/** The branch a task's commits go on. Task ids are [a-z0-9]{12}, always a valid ref component. */
export const taskBranch = (taskId: string) => `takos/task-${taskId}`;
/** The task id a branch name (as taskBranch writes it) belongs to, or null for any other branch. */
export const taskIdOfBranch = (branch: string) => (branch.startsWith('takos/task-') ? branch.slice('takos/task-'.length) : null);
export const TASK_BRANCH_PREFIX = 'refs/heads/takos/';
/** Every task branch and nothing else under the prefix (for-each-ref's `*` does not cross a `/`). */
export const TASK_BRANCH_GLOB = `${TASK_BRANCH_PREFIX}task-*`;
/** A full object name: SHA-1 (40 hex digits) or SHA-256 (64). */
export const OBJECT_NAME = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;
