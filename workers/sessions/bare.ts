import fs from 'node:fs';
import { mkdir, open, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import git from 'isomorphic-git';
import { AppError } from '../../runtime/errors.ts';
import { randomSuffix } from '../../runtime/ids.ts';

/**
 * The bare repository that stands in for git hosting until it exists: one per space repository, created on first
 * use with an initial commit on the repository's default branch. Branch updates follow git's own protocol (an
 * exclusive `<ref>.lock` file, renamed over the ref), so a concurrent `git` process and our own writers on other
 * processes never lose an update.
 */
export const SYSTEM_AUTHOR = { name: 'Takos', email: 'takos@localhost' };

/** Git's ref-name rules (git-check-ref-format), for the branch names a client may send. */
export function isValidBranch(name: string): boolean {
  if (name.length === 0 || name.length > 200) return false;
  if (!/^[A-Za-z0-9._/+-]+$/.test(name)) return false;
  if (name.startsWith('/') || name.endsWith('/') || name.endsWith('.') || name.startsWith('-')) return false;
  if (name.includes('..') || name.includes('//') || name === '@') return false;
  return name.split('/').every((c) => c.length > 0 && !c.startsWith('.') && !c.endsWith('.lock'));
}

/** Resolves a branch to its commit, or null when it does not exist. */
export async function resolveBranch(gitdir: string, branch: string): Promise<string | null> {
  try {
    return await git.resolveRef({ fs, gitdir, ref: `refs/heads/${branch}` });
  } catch (err) {
    if ((err as { code?: string }).code === 'NotFoundError') return null;
    throw err;
  }
}

/** Creates `<reposDir>/<repoId>.git` with one commit on `defaultBranch` unless it exists; returns its path. */
export async function ensureBareRepo(reposDir: string, repo: { id: string; name: string; defaultBranch: string }): Promise<string> {
  const gitdir = path.join(reposDir, `${repo.id}.git`);
  if (await exists(path.join(gitdir, 'HEAD'))) return gitdir;
  await mkdir(reposDir, { recursive: true });
  // Built aside and renamed into place, so a concurrent first use never sees (or builds on) a half-made repository.
  const tmp = path.join(reposDir, `.tmp-${repo.id}-${randomSuffix(8)}`);
  try {
    await git.init({ fs, gitdir: tmp, bare: true, defaultBranch: repo.defaultBranch });
    const blob = await git.writeBlob({ fs, gitdir: tmp, blob: Buffer.from(`# ${repo.name}\n`) });
    const tree = await git.writeTree({ fs, gitdir: tmp, tree: [{ path: 'README.md', mode: '100644', oid: blob, type: 'blob' }] });
    const when = { timestamp: Math.floor(Date.now() / 1000), timezoneOffset: 0 };
    const commit = await git.writeCommit({
      fs,
      gitdir: tmp,
      commit: { message: 'Initial commit\n', tree, parent: [], author: { ...SYSTEM_AUTHOR, ...when }, committer: { ...SYSTEM_AUTHOR, ...when } },
    });
    await git.writeRef({ fs, gitdir: tmp, ref: `refs/heads/${repo.defaultBranch}`, value: commit, force: true });
    await rename(tmp, gitdir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    // Lost the race to another process: its repository is as good as ours.
    if (await exists(path.join(gitdir, 'HEAD'))) return gitdir;
    throw err;
  }
  return gitdir;
}

const LOCK_STALE_MS = 30_000;
const LOCK_WAIT_MS = 5_000;

/**
 * Compare-and-swap of `refs/heads/<branch>`: sets it to `next` only if it still points at `expected` (null: does
 * not exist). Returns the value found when it did not.
 */
export async function casBranch(gitdir: string, branch: string, expected: string | null, next: string): Promise<{ ok: true } | { ok: false; current: string | null }> {
  const ref = path.join(gitdir, 'refs', 'heads', ...branch.split('/'));
  const lock = `${ref}.lock`;
  await mkdir(path.dirname(ref), { recursive: true });
  const fh = await acquire(lock);
  let renamed = false;
  try {
    const current = await resolveBranch(gitdir, branch);
    if (current !== expected) return { ok: false, current };
    await fh.writeFile(`${next}\n`);
    await fh.sync();
    await fh.close();
    await rename(lock, ref);
    renamed = true;
    return { ok: true };
  } finally {
    if (!renamed) {
      await fh.close().catch(() => undefined);
      await unlink(lock).catch(() => undefined);
    }
  }
}

async function acquire(lock: string) {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
    try {
      return await open(lock, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    // A writer that died holding the lock leaves it behind (git would too); past this age it is taken over.
    const st = await stat(lock).catch(() => null);
    if (st && Date.now() - st.mtimeMs > LOCK_STALE_MS) {
      await unlink(lock).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) throw new AppError('CONFLICT', 'The branch is being updated by another operation; retry');
    await new Promise((r) => setTimeout(r, wait));
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}
