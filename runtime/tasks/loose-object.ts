import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { OBJECT_NAME } from './git.ts';

/** A commit's header is small; a loose object bigger than this is not worth inflating here. */
const MAX_LOOSE_BYTES = 64 * 1024;

/**
 * The parents of a commit stored as a loose object (`objects/xx/yyyy...`, one zlib stream of
 * `commit <size>\0tree <sha>\nparent <sha>\n...`), read without running git; null when the object is not loose (packed,
 * in an alternate, missing) or not a commit, and the caller asks git instead.
 *
 * Why: a commit a run just made is loose until the next gc, and its parent is often all refs.ts needs to know (a
 * branch that only moved forward from a tip not in the base branch is still not in it). Asking git instead costs a
 * process and a history walk: 8-12 ms on a repository whose base branch holds a 1,000-parent merge.
 */
export async function looseCommitParents(objectsDir: string, sha: string): Promise<string[] | null> {
  if (!OBJECT_NAME.test(sha)) return null;
  let raw: Buffer;
  try {
    raw = await readFile(path.join(objectsDir, sha.slice(0, 2), sha.slice(2)));
  } catch {
    return null;
  }
  if (raw.length > MAX_LOOSE_BYTES) return null;
  let body: Buffer;
  try {
    // Only the header matters; a commit with a huge message is still bounded by the size check above.
    body = inflateSync(raw, { maxOutputLength: 16 * MAX_LOOSE_BYTES });
  } catch {
    return null;
  }
  const nul = body.indexOf(0);
  if (nul < 0 || body.toString('latin1', 0, 7) !== 'commit ') return null;
  const headerEnd = body.indexOf('\n\n', nul + 1);
  const header = body.toString('latin1', nul + 1, headerEnd < 0 ? body.length : headerEnd).split('\n');
  if (!header[0]?.startsWith('tree ')) return null;
  const parents: string[] = [];
  for (let i = 1; i < header.length && header[i]!.startsWith('parent '); i++) {
    const p = header[i]!.slice('parent '.length);
    if (!OBJECT_NAME.test(p)) return null;
    parents.push(p);
  }
  return parents;
}
