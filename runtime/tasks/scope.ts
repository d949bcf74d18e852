import picomatch from 'picomatch';

/**
 * write_scope globs: picomatch syntax, matched against repository-relative paths with `/` separators. `dot: true`
 * so that `src/**` also covers `src/.eslintrc` (a scope names a part of the tree, hidden files included).
 * Globs must be relative and stay inside the repository; `.git` is never writable whatever the scope says.
 */
const OPTIONS = { dot: true } as const;

export function scopeGlobError(glob: string): string | null {
  if (glob.trim() !== glob || glob === '') return 'must be a non-empty glob without surrounding spaces';
  if (glob.startsWith('/') || /^[A-Za-z]:/.test(glob)) return 'must be relative to the repository root';
  if (glob.split('/').includes('..')) return 'must not contain ".." segments';
  if (glob.includes('\\')) return 'must use "/" as the path separator';
  try {
    picomatch(glob, OPTIONS);
  } catch (err) {
    return `is not a valid glob (${(err as Error).message})`;
  }
  return null;
}

export type ScopeMatcher = (path: string) => boolean;

export function scopeMatcher(globs: string[]): ScopeMatcher {
  const match = picomatch(globs, OPTIONS);
  return (p) => !isGitInternal(p) && match(p);
}

export const isGitInternal = (p: string) => p === '.git' || p.startsWith('.git/');

/** Splits changed paths into those the scope allows and those it does not. */
export function splitByScope(paths: string[], globs: string[]): { inScope: string[]; outOfScope: string[] } {
  const m = scopeMatcher(globs);
  const inScope: string[] = [];
  const outOfScope: string[] = [];
  for (const p of paths) (m(p) ? inScope : outOfScope).push(p);
  return { inScope, outOfScope };
}

/** A file path an edit may name: relative, `/`-separated, inside the repository, never under `.git`. */
export function relativePathError(p: string): string | null {
  if (p === '' || p.length > 1024) return 'must be 1-1024 characters';
  if (p.includes('\0') || p.includes('\\')) return 'must not contain NUL or backslashes';
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) return 'must be relative to the repository root';
  const parts = p.split('/');
  if (parts.some((s) => s === '' || s === '.' || s === '..')) return 'must be a normalised path without empty, "." or ".." segments';
  if (parts.some((s) => s.toLowerCase() === '.git')) return 'must not point into .git';
  return null;
}
