import { lstat, mkdir, realpath, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { relativePathError } from '../../runtime/tasks/scope.ts';
import type { FileEdit, RejectedFile } from './types.ts';

/**
 * Writes an agent's edits into the worktree without ever writing outside it: the path rules are checked again here
 * (a model reply is untrusted), the parent folder's realpath must stay inside the worktree (a symlinked folder in
 * the repository cannot redirect a write), and a file is replaced by renaming a temporary file over it, so a
 * symlink at the target is replaced, not followed. Edits that fail these checks are returned as rejected.
 */
export async function applyEdits(worktree: string, edits: FileEdit[]): Promise<RejectedFile[]> {
  const root = await realpath(worktree);
  const rejected: RejectedFile[] = [];
  for (const e of edits) {
    const err = relativePathError(e.path);
    if (err) {
      rejected.push({ path: e.path, reason: `invalid path: ${err}` });
      continue;
    }
    const target = path.join(root, ...e.path.split('/'));
    try {
      if (e.content === null) {
        const parent = await realpath(path.dirname(target)).catch(() => null);
        if (parent === null) continue; // nothing there to delete
        if (!inside(parent, root)) throw new EscapeError();
        await rm(path.join(parent, path.basename(target)), { force: true, recursive: false });
        continue;
      }
      await mkdirInside(root, path.dirname(target));
      const parent = await realpath(path.dirname(target));
      if (!inside(parent, root)) throw new EscapeError();
      const existing = await lstat(path.join(parent, path.basename(target))).catch(() => null);
      if (existing?.isDirectory()) {
        rejected.push({ path: e.path, reason: 'a folder exists at this path' });
        continue;
      }
      const tmp = path.join(parent, `.takos-edit-${randomBytes(6).toString('hex')}`);
      await writeFile(tmp, e.content);
      await rename(tmp, path.join(parent, path.basename(target)));
    } catch (error) {
      rejected.push({ path: e.path, reason: error instanceof EscapeError ? 'path leads outside the repository through a symbolic link' : `could not write: ${(error as Error).message}` });
    }
  }
  return rejected;
}

class EscapeError extends Error {}

const inside = (p: string, root: string) => p === root || p.startsWith(root + path.sep);

/** mkdir -p, one level at a time, refusing to go through a symlink that leaves the worktree. */
async function mkdirInside(root: string, dir: string): Promise<void> {
  const rel = path.relative(root, dir);
  let cur = root;
  for (const part of rel ? rel.split(path.sep) : []) {
    cur = path.join(cur, part);
    const st = await lstat(cur).catch(() => null);
    if (!st) {
      await mkdir(cur);
      continue;
    }
    if (st.isSymbolicLink()) {
      const real = await realpath(cur);
      if (!inside(real, root)) throw new EscapeError();
      cur = real;
    } else if (!st.isDirectory()) {
      throw new Error(`${part} is a file, not a folder`);
    }
  }
}
