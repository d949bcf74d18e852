import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { git } from '../../../runtime/tasks/git.ts';
import { scopeMatcher } from '../../../runtime/tasks/scope.ts';

/**
 * The files a model sees with the task: tracked files inside the write scope, as they are on the task branch.
 * Bounded (60 files, 200 KB) so a broad scope cannot blow the model's context; binary files (a NUL byte) are
 * listed by name only.
 */
const MAX_FILES = 60;
const MAX_BYTES = 200_000;

export interface ScopeFile {
  path: string;
  content: string | null;
}

export async function filesInScope(worktreeDir: string, writeScope: string[], signal: AbortSignal): Promise<{ files: ScopeFile[]; omitted: number }> {
  const { stdout } = await git(worktreeDir, ['ls-files', '-z'], { signal });
  const inScope = scopeMatcher(writeScope);
  const paths = stdout.split('\0').filter((p) => p && inScope(p));
  const files: ScopeFile[] = [];
  let bytes = 0;
  let omitted = 0;
  for (const p of paths) {
    if (files.length >= MAX_FILES || bytes >= MAX_BYTES) {
      omitted++;
      continue;
    }
    const buf = await readFile(path.join(worktreeDir, p)).catch(() => null);
    if (!buf) continue;
    if (buf.includes(0) || bytes + buf.length > MAX_BYTES) {
      files.push({ path: p, content: null });
      continue;
    }
    bytes += buf.length;
    files.push({ path: p, content: buf.toString('utf8') });
  }
  return { files, omitted };
}
