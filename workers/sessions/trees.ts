import fs from 'node:fs';
import git, { type TreeEntry } from 'isomorphic-git';

/**
 * Tree-level git operations on top of isomorphic-git's object API: copying what a checkout needs from one object
 * database to another, the set of paths two trees differ in, and a tree with some paths replaced. The bare
 * repository is never given a work tree or an index: everything it receives is objects and a ref update.
 */

/** A file at a path: its blob and mode ('100644', '100755' or '120000'). null means "deleted". */
export interface Leaf {
  oid: string;
  mode: string;
}
export type Changes = Map<string, Leaf | null>;

const TREE_MODE = '040000';
const isTree = (e: TreeEntry) => e.type === 'tree';

async function entries(gitdir: string, oid: string | null, cache: object): Promise<TreeEntry[]> {
  if (oid === null) return [];
  return (await git.readTree({ fs, gitdir, oid, cache })).tree;
}

export async function treeOf(gitdir: string, commitOid: string, cache: object = {}): Promise<string> {
  return (await git.readCommit({ fs, gitdir, oid: commitOid, cache })).commit.tree;
}

/**
 * Copies commit `oid`, its tree and every blob of it (not its history) from `from` to `to`; returns the number of
 * files. The target then holds a shallow clone of one commit (the caller writes `shallow` for the git CLI).
 */
export async function copySnapshot(from: string, to: string, oid: string): Promise<number> {
  const cache = {};
  const commit = await git.readObject({ fs, gitdir: from, oid, format: 'content', cache });
  await git.writeObject({ fs, gitdir: to, type: 'commit', object: commit.object as Uint8Array, format: 'content' });
  let files = 0;
  const copyTree = async (treeOid: string): Promise<void> => {
    const list = await entries(from, treeOid, cache);
    for (const e of list) {
      if (isTree(e)) await copyTree(e.oid);
      else if (e.type === 'blob') {
        const { blob } = await git.readBlob({ fs, gitdir: from, oid: e.oid, cache });
        await git.writeBlob({ fs, gitdir: to, blob });
        files++;
      }
      // Submodule entries (type 'commit') point outside this repository: nothing to copy.
    }
    await git.writeTree({ fs, gitdir: to, tree: list });
  };
  await copyTree(await treeOf(from, oid, cache));
  return files;
}

/** Every path whose file differs between trees `a` and `b` (in `b`: its leaf, or null when `b` lacks it). */
export async function diffTrees(gitdir: string, a: string | null, b: string | null, cache: object = {}, prefix = ''): Promise<Changes> {
  const out: Changes = new Map();
  if (a === b) return out;
  const left = new Map((await entries(gitdir, a, cache)).map((e) => [e.path, e]));
  const right = new Map((await entries(gitdir, b, cache)).map((e) => [e.path, e]));
  for (const name of new Set([...left.keys(), ...right.keys()])) {
    const l = left.get(name);
    const r = right.get(name);
    if (l && r && l.oid === r.oid && l.mode === r.mode) continue;
    const p = prefix + name;
    const lt = l && isTree(l) ? l.oid : null;
    const rt = r && isTree(r) ? r.oid : null;
    if (lt !== null || rt !== null) for (const [k, v] of await diffTrees(gitdir, lt, rt, cache, p + '/')) out.set(k, v);
    if (l && !isTree(l) && !(r && !isTree(r))) out.set(p, null);
    if (r && !isTree(r)) out.set(p, { oid: r.oid, mode: r.mode });
  }
  return out;
}

/**
 * The tree `base` with `changes` applied (files set or removed; directories created and pruned as needed).
 * Returns null for an empty tree.
 */
export async function applyChanges(gitdir: string, base: string | null, changes: Changes, cache: object = {}): Promise<string | null> {
  const here = new Map<string, Leaf | null>();
  const below = new Map<string, Changes>();
  for (const [p, leaf] of changes) {
    const slash = p.indexOf('/');
    if (slash < 0) here.set(p, leaf);
    else {
      const dir = p.slice(0, slash);
      if (!below.has(dir)) below.set(dir, new Map());
      below.get(dir)!.set(p.slice(slash + 1), leaf);
    }
  }
  const list = new Map((await entries(gitdir, base, cache)).map((e) => [e.path, e]));
  for (const [name, leaf] of here) {
    if (leaf) list.set(name, { path: name, oid: leaf.oid, mode: leaf.mode, type: 'blob' });
    else if (list.get(name) && !isTree(list.get(name)!)) list.delete(name);
  }
  for (const [name, sub] of below) {
    const cur = list.get(name);
    const subTree = await applyChanges(gitdir, cur && isTree(cur) ? cur.oid : null, sub, cache);
    if (subTree === null) {
      if (cur && isTree(cur)) list.delete(name);
    } else list.set(name, { path: name, oid: subTree, mode: TREE_MODE, type: 'tree' });
  }
  if (list.size === 0) return null;
  return git.writeTree({ fs, gitdir, tree: [...list.values()] });
}

/** The empty tree's id, for a commit that removes every file. */
export async function emptyTree(gitdir: string): Promise<string> {
  return git.writeTree({ fs, gitdir, tree: [] });
}
