import fs from 'node:fs';
import { lstat, mkdir, readFile, readdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import git from 'isomorphic-git';
import { AppError, conflict } from '../../runtime/errors.ts';
import { OPAQUE_ID } from '../../runtime/ids.ts';
import { casBranch, ensureBareRepo, resolveBranch } from './bare.ts';
import type { CommitRequest, CommitResult, OpenedWorkingCopy, OpenRequest, WorkingCopyStore } from './store.ts';
import { applyChanges, copySnapshot, diffTrees, emptyTree, treeOf, type Changes, type Leaf } from './trees.ts';

/**
 * Working copies on isomorphic-git, under the data folder:
 *
 *   <dataDir>/repos/<repoId>.git          bare repository of a space repository (until git hosting exists)
 *   <dataDir>/sessions/<sessionId>/work   the session's checkout: files + a shallow `.git` holding one commit
 *
 * open:   copies the branch head's snapshot into a fresh repository and checks it out (the runtime may use git in it).
 * commit: compares the work tree with the session's base commit (untracked files included, .gitignore honoured),
 *         writes the changed blobs into the bare repository, builds the new tree on the branch head and moves the
 *         branch with a compare-and-swap. When the branch moved since the base, the session's changes are applied on
 *         top of the new head unless both sides changed a path differently (409, nothing written).
 *
 * isomorphic-git runs in this process's event loop: fine for the small repositories a session edits, and the
 * interface (store.ts) lets git hosting move the work elsewhere.
 */
export class IsoGitWorkingCopyStore implements WorkingCopyStore {
  readonly reposDir: string;
  readonly sessionsDir: string;

  constructor(dataDir: string) {
    this.reposDir = path.join(dataDir, 'repos');
    this.sessionsDir = path.join(dataDir, 'sessions');
  }

  private dirs(sessionId: string) {
    if (!OPAQUE_ID.test(sessionId)) throw new Error(`invalid session id ${sessionId}`);
    const sessionDir = path.join(this.sessionsDir, sessionId);
    return { sessionDir, workDir: path.join(sessionDir, 'work') };
  }

  async open(req: OpenRequest): Promise<OpenedWorkingCopy> {
    const bare = await ensureBareRepo(this.reposDir, req.repo);
    let base = await resolveBranch(bare, req.branch);
    let createdBranch = false;
    if (base === null) {
      const from = await resolveBranch(bare, req.repo.defaultBranch);
      if (from === null) throw new AppError('CONFLICT', `Default branch ${req.repo.defaultBranch} does not exist`);
      const r = await casBranch(bare, req.branch, null, from);
      base = r.ok ? from : r.current;
      createdBranch = r.ok;
      if (base === null) throw conflict('The branch was deleted while the session started; retry');
    }
    const { sessionDir, workDir } = this.dirs(req.sessionId);
    await rm(sessionDir, { recursive: true, force: true });
    await mkdir(workDir, { recursive: true });
    const gitdir = path.join(workDir, '.git');
    await git.init({ fs, dir: workDir, defaultBranch: req.branch });
    const fileCount = await copySnapshot(bare, gitdir, base);
    // One commit without its parents: tell the git CLI so (`git log` then stops there instead of failing).
    await writeFile(path.join(gitdir, 'shallow'), `${base}\n`);
    await git.writeRef({ fs, dir: workDir, ref: `refs/heads/${req.branch}`, value: base, force: true });
    await git.checkout({ fs, dir: workDir, ref: req.branch, force: true });
    return { baseCommit: base, fileCount, sessionDir, workDir, branch: req.branch, createdBranch };
  }

  async commit(req: CommitRequest): Promise<CommitResult> {
    const { workDir } = this.dirs(req.sessionId);
    if (!(await exists(path.join(workDir, '.git')))) throw new AppError('CONFLICT', 'The session has no working copy');
    const bare = await ensureBareRepo(this.reposDir, req.repo);
    const cache = {};
    const { changes: mine, added } = await this.workTreeChanges(workDir, bare, req.baseCommit);
    const baseTree = await treeOf(bare, req.baseCommit, cache);
    const when = { timestamp: Math.floor(Date.now() / 1000), timezoneOffset: 0 };

    // Each retry follows a concurrent writer's success, so this bounds the number of commits racing this one.
    for (let attempt = 0; attempt < 20; attempt++) {
      const head = await resolveBranch(bare, req.branch);
      const parent = head ?? req.baseCommit;
      let changes = mine;
      if (parent !== req.baseCommit) changes = await rebaseChanges(bare, baseTree, await treeOf(bare, parent, cache), mine, cache);
      const parentTree = await treeOf(bare, parent, cache);
      const tree = (await applyChanges(bare, parentTree, changes, cache)) ?? (await emptyTree(bare));
      const files = [...changes].map(([p, leaf]) => ({ path: p, change: leaf === null ? ('deleted' as const) : added.has(p) ? ('added' as const) : ('modified' as const) }));
      const result = { parent, branch: req.branch, rebased: parent !== req.baseCommit };
      if (tree === parentTree) return { ...result, committed: false, commit: null, files: [] };
      const commit = await git.writeCommit({
        fs,
        gitdir: bare,
        commit: { message: req.message.endsWith('\n') ? req.message : `${req.message}\n`, tree, parent: [parent], author: { ...req.author, ...when }, committer: { ...(req.committer ?? req.author), ...when } },
      });
      const cas = await casBranch(bare, req.branch, head, commit);
      if (cas.ok) return { ...result, committed: true, commit, files };
      // Someone moved the branch between our read and our update: redo the (cheap) tree work on the new head.
    }
    throw conflict('The branch kept changing while the session was committing; retry');
  }

  /** The work tree against `base`: changed paths with their new blobs (written into `bare`), and which are new. */
  private async workTreeChanges(workDir: string, bare: string, base: string): Promise<{ changes: Changes; added: Set<string> }> {
    const rows = await git.statusMatrix({ fs, dir: workDir, ref: base, cache: {} });
    const changes: Changes = new Map();
    const added = new Set<string>();
    for (const [filepath, head, workdir] of rows) {
      if (workdir === 1) continue;
      if (workdir === 0) {
        if (head === 1) changes.set(filepath, null);
        continue;
      }
      const abs = path.join(workDir, filepath);
      const st = await lstat(abs);
      const link = st.isSymbolicLink();
      const blob = link ? Buffer.from(await readlink(abs)) : await readFile(abs);
      const mode = link ? '120000' : st.mode & 0o111 ? '100755' : '100644';
      changes.set(filepath, { oid: await git.writeBlob({ fs, gitdir: bare, blob }), mode });
      if (head === 0) added.add(filepath);
    }
    return { changes, added };
  }

  async drop(sessionId: string): Promise<void> {
    await rm(this.dirs(sessionId).sessionDir, { recursive: true, force: true });
  }

  async exists(sessionId: string): Promise<boolean> {
    return exists(path.join(this.dirs(sessionId).workDir, '.git'));
  }

  async list(): Promise<string[]> {
    const names = await readdir(this.sessionsDir).catch(() => [] as string[]);
    return names.filter((n) => OPAQUE_ID.test(n));
  }
}

const sameLeaf = (a: Leaf | null | undefined, b: Leaf | null) => (a ?? null) === null ? b === null : b !== null && a!.oid === b.oid && a!.mode === b.mode;

/**
 * The session's changes (`mine`, relative to the base tree) re-expressed on a branch head that moved: a path both
 * sides changed to the same result is already there; one they changed differently, or a file on one side where
 * the other has a directory, is a conflict (409 with the paths).
 */
async function rebaseChanges(bare: string, baseTree: string, headTree: string, mine: Changes, cache: object): Promise<Changes> {
  const theirs = await diffTrees(bare, baseTree, headTree, cache);
  const theirDirs = new Set<string>();
  for (const p of theirs.keys()) for (let i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) theirDirs.add(p.slice(0, i));
  const conflicts: string[] = [];
  const out: Changes = new Map();
  for (const [p, leaf] of mine) {
    if (theirs.has(p)) {
      if (!sameLeaf(theirs.get(p), leaf)) conflicts.push(p);
      continue;
    }
    const fileAbove = p.split('/').slice(0, -1).some((_, i, parts) => theirs.get(parts.slice(0, i + 1).join('/')) != null);
    if ((leaf !== null && theirDirs.has(p)) || fileAbove) conflicts.push(p);
    else out.set(p, leaf);
  }
  if (conflicts.length > 0) {
    throw new AppError('CONFLICT', 'The branch changed the same files since the session started; nothing was committed', { details: { paths: conflicts.sort() } });
  }
  return out;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}
