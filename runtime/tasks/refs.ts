import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { CommitGraphKeeper } from './commit-graph.ts';
import { git, GitError, OBJECT_NAME, TASK_BRANCH_GLOB } from './git.ts';
import { GitSpawner } from './git-spawner.ts';
import { looseCommitParents } from './loose-object.ts';
import { RefWatch } from './ref-watch.ts';
import type { RefFacts } from './types.ts';

/**
 * What a repository says about task branches: every task branch's tip, the base branch's tip, and which task
 * branches are merged (reachable from base_branch).
 *
 * A full read is two git calls, whatever the number of tasks: `for-each-ref` for every task branch tip (and the
 * base's), and `for-each-ref --merged=<base>` for those in base_branch (git paints reachability once for all of
 * them, unlike one `merge-base --is-ancestor` per branch). On a repository with ~1,400 loose task refs that is
 * ~20 + ~30 ms of CPU, most of it git opening every loose ref file.
 *
 * So after a first full read, a change is read incrementally when that is safe: a RefWatch (ref-watch.ts) names the
 * loose refs under refs/heads/takos that changed, and only those files are read; a moved tip is checked with one
 * `merge-base --is-ancestor`, unless its commit is a loose object whose parent is a tip known not to be in the base
 * (loose-object.ts: a run's new commit costs one file read and one inflate instead), and a base branch that moved
 * forward adds to `merged` the tips among the commits it gained (`rev-list --left-right old...new`: reachable(new) =
 * reachable(old) + those commits when old is an ancestor of new). Anything else falls back to a full read: packed-refs or reftable changed (pack-refs, deletions,
 * other tools), a ref deleted or symbolic, the base rewritten, many refs at once, a dead watch, or a cached read
 * older than MAX_AGE_MS.
 *
 * Cached per (repository, base branch) under a key made of the stats (mtime ns, size, inode) of the files refs live
 * in: packed-refs, the refs/heads/takos folder (an update of a loose ref renames a lock file inside it, which
 * changes the folder's mtime), the base branch's loose ref file and reftable's tables.list, plus, while a watch is
 * alive, the watch's event count. Four stat calls cost ~40 us. The age limit backs the key up on file systems with
 * coarse mtimes. Concurrent misses for one repository share one read.
 */
const MAX_AGE_MS = 60_000;
/** Past this many changed refs, one full listing is cheaper than a git call per ref. */
const MAX_INCREMENTAL_REFS = 32;
/** Past this many commits gained by the base branch, a full `--merged` listing is cheaper to parse. */
const MAX_BASE_DELTA_LINES = 20_000;

interface Entry {
  key: string[];
  at: number;
  facts: RefFacts;
  /** The watch on refs/heads/takos when this was read, and its event count before the read began. */
  watch: RefWatch | null;
  seq: number;
  /** The last full read listed replace refs (refs/replace/*): commit objects' parents are not what git walks. */
  replaced: boolean;
}

export interface Observation {
  facts: RefFacts;
  /** Changes whenever the refs may have changed; part of the callers' cache keys. */
  key: string;
}

/** Thrown inside an incremental read when only a full read can answer (any other error there leads to one too). */
class NeedFullRead extends Error {}

export class RefObserver {
  private readonly cache = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<Entry>>();
  private readonly commonDirs = new Map<string, Promise<string | null>>();
  /** One watch per repository (common dir), shared by the projects on it. */
  private readonly watches = new Map<string, RefWatch>();
  /**
   * Reads done so far, by kind, and moved tips answered from their commit's parents without git (tests and the
   * bench check which path a change took).
   */
  readonly stats = { full: 0, incremental: 0, fromParents: 0 };

  constructor(
    private readonly maxEntries = 256,
    private readonly spawner = new GitSpawner(),
    /** Refreshes git's commit-graph after full reads (commit-graph.ts); null leaves repositories as they are. */
    private readonly graphs: CommitGraphKeeper | null = null,
  ) {}

  async observe(repoPath: string, baseBranch: string): Promise<Observation> {
    const id = `${repoPath}\0${baseBranch}`;
    const commonDir = await this.commonDir(repoPath);
    // The event count is taken before the stats: an event after it makes the next call look again.
    const watch = commonDir ? (this.watches.get(commonDir) ?? null) : null;
    const seq = watch?.seq ?? 0;
    const key = commonDir ? await refStateKey(commonDir, baseBranch) : [`unreadable:${Date.now()}`];
    // The stats' completion can run before the watch's events in the same turn of the event loop: one more turn
    // (setImmediate runs after every ready descriptor of the poll that woke us was handled) has them all counted.
    if (watch) await new Promise((resolve) => setImmediate(resolve));
    const hit = this.cache.get(id);
    const fresh = hit !== undefined && Date.now() - hit.at < MAX_AGE_MS;
    if (fresh && sameKey(hit.key, key) && (hit.watch === null || (hit.watch.alive && hit.watch.seq === hit.seq))) {
      return { facts: hit.facts, key: observationKey(hit) };
    }
    let p = this.inflight.get(id);
    if (!p) {
      const incremental = fresh && commonDir !== null && hit.facts.available && hit.watch !== null && hit.watch === watch && watch.alive;
      p = incremental
        ? // Whatever stops an incremental read (NeedFullRead, a failed git call, a dead helper), a full one answers.
          this.readChanges(hit, commonDir, repoPath, baseBranch, key, seq).catch(() => this.readAll(commonDir, repoPath, baseBranch, key))
        : this.readAll(commonDir, repoPath, baseBranch, key);
      this.inflight.set(id, p);
      void p.finally(() => this.inflight.delete(id)).catch(() => undefined);
    }
    const entry = await p;
    if (this.cache.size >= this.maxEntries && !this.cache.has(id)) this.cache.delete(this.cache.keys().next().value!);
    // A repository that could not be read is not cached: the next request tries again.
    if (entry.facts.available) this.cache.set(id, entry);
    else this.commonDirs.delete(repoPath);
    return { facts: entry.facts, key: observationKey(entry) };
  }

  /** Forget a repository (after our own ref updates, so the next read does not wait for a coarse mtime to tick). */
  invalidate(repoPath: string): void {
    for (const id of this.cache.keys()) if (id.startsWith(`${repoPath}\0`)) this.cache.delete(id);
  }

  /** Stops every watch (a server closing; tests). */
  close(): void {
    for (const w of this.watches.values()) w.close();
    this.watches.clear();
  }

  private async readAll(commonDir: string | null, repoPath: string, baseBranch: string, key: string[]): Promise<Entry> {
    this.stats.full++;
    // A new watch before the listing: a change during the listing is then seen again by the next call.
    const watch = commonDir ? this.rewatch(commonDir) : null;
    const seq = watch?.seq ?? 0;
    const { facts, replaced } = await readFacts(this.spawner, repoPath, baseBranch);
    if (facts.available && commonDir !== null) void this.graphs?.refresh(commonDir, repoPath);
    return { key, at: Date.now(), facts, watch, seq, replaced };
  }

  private async readChanges(prev: Entry, commonDir: string, repoPath: string, baseBranch: string, key: string[], seq: number): Promise<Entry> {
    // packed-refs or reftable changed: pack-refs, a deletion or another tool rewrote refs wholesale.
    if (key[0] !== prev.key[0] || key[3] !== prev.key[3]) throw new NeedFullRead();
    // The takos folder itself replaced (deleted with its last loose ref, then made again): the watch saw the old one.
    if (inodeOf(key[1]!) !== inodeOf(prev.key[1]!)) throw new NeedFullRead();
    // Only task branches are facts of a task; other refs under takos/ (and lock files) change nothing we show.
    const names = prev.watch!.changedSince(prev.seq).filter((n) => n.startsWith('task-'));
    if (names.length > MAX_INCREMENTAL_REFS) throw new NeedFullRead();

    const takosDir = path.join(commonDir, 'refs', 'heads', 'takos');
    const tips = new Map(prev.facts.tips);
    const merged = new Set(prev.facts.merged);
    const moved: string[] = [];
    const shas = await Promise.all(names.map((n) => readLooseRef(path.join(takosDir, n))));
    names.forEach((n, i) => {
      const ref = `takos/${n}`;
      if (tips.get(ref) !== shas[i]) {
        tips.set(ref, shas[i]!);
        moved.push(ref);
      }
    });

    const changed = new Set(moved);
    let baseSha = prev.facts.baseSha!;
    let gainedCount = 0;
    if (key[2] !== prev.key[2]) {
      const now = await readLooseRef(path.join(commonDir, 'refs', 'heads', ...baseBranch.split('/')));
      if (now !== baseSha) {
        const gained = await this.commitsGained(repoPath, baseSha, now);
        gainedCount = gained.size;
        for (const [ref, tip] of tips) {
          if (gained.has(tip) && !merged.has(ref)) {
            merged.add(ref);
            changed.add(ref);
          }
        }
        baseSha = now;
      }
    }
    // With the base where it was, a tip whose parent is a tip known not to be in it is not in it either (were it
    // reachable from the base, so would its parent be): a run's new commit is answered from its loose object alone.
    const unmergedTips = baseSha === prev.facts.baseSha && moved.length > 0 && (await this.parentsAreGit(commonDir, prev)) ? unmergedShas(prev.facts) : null;
    const objectsDir = path.join(commonDir, 'objects');
    const inBase = await Promise.all(
      moved.map(async (ref) => {
        const tip = tips.get(ref)!;
        if (unmergedTips !== null) {
          const parents = await looseCommitParents(objectsDir, tip);
          if (parents !== null && parents.some((p) => unmergedTips.has(p))) {
            this.stats.fromParents++;
            return false;
          }
        }
        return this.isAncestor(repoPath, tip, baseSha);
      }),
    );
    moved.forEach((ref, i) => (inBase[i] ? merged.add(ref) : merged.delete(ref)));
    this.stats.incremental++;
    if (gainedCount + moved.length > 0) void this.graphs?.noteCommits(commonDir, repoPath, gainedCount + moved.length);
    // Nothing moved (an event for a ref rewritten with the same sha, a base moved to where it was): the same facts,
    // which readers recognise by identity.
    const facts: RefFacts =
      changed.size === 0 && baseSha === prev.facts.baseSha
        ? prev.facts
        : { available: true, error: null, baseSha, tips, merged, delta: { from: prev.facts, branches: [...changed] } };
    // The link from prev.facts to its own predecessor is no longer needed (see RefFacts.delta).
    if (facts !== prev.facts) prev.facts.delta = undefined;
    return { key, at: Date.now(), facts, watch: prev.watch, seq, replaced: prev.replaced };
  }

  /**
   * Whether the parents written in commit objects are surely the ones git walks: with replace refs (loose ones make
   * refs/replace, packed ones were seen by the last full read) or grafts they may not be (git's commands differ on
   * following them), so the parent shortcut leaves such repositories to git.
   */
  private async parentsAreGit(commonDir: string, prev: Entry): Promise<boolean> {
    if (prev.replaced) return false;
    const [replace, grafts] = await Promise.all([statKey(path.join(commonDir, 'refs', 'replace')), statKey(path.join(commonDir, 'info', 'grafts'))]);
    return replace === '-' && grafts === '-';
  }

  /** The commits reachable from `to` and not from `from`, when `from` is an ancestor of `to`. */
  private async commitsGained(repoPath: string, from: string, to: string): Promise<Set<string>> {
    const out = await this.spawner.run(repoPath, ['rev-list', '--left-right', `${from}...${to}`]);
    const gained = new Set<string>();
    let lines = 0;
    for (const line of out.stdout.split('\n')) {
      if (!line) continue;
      // A commit only `from` has: the base was rewritten, so branches merged before may not be any more.
      if (line[0] !== '>' || ++lines > MAX_BASE_DELTA_LINES) throw new NeedFullRead();
      gained.add(line.slice(1));
    }
    return gained;
  }

  private async isAncestor(repoPath: string, commit: string, of: string): Promise<boolean> {
    try {
      await this.spawner.run(repoPath, ['merge-base', '--is-ancestor', commit, of]);
      return true;
    } catch (err) {
      // Exit status 1 is git's "no"; anything else (a missing object, a dead helper) needs the full read.
      if (err instanceof GitError && err.code === 1) return false;
      throw err;
    }
  }

  private rewatch(commonDir: string): RefWatch | null {
    this.watches.get(commonDir)?.close();
    this.watches.delete(commonDir);
    const w = RefWatch.open(path.join(commonDir, 'refs', 'heads', 'takos'));
    if (!w) return null;
    if (this.watches.size >= this.maxEntries) {
      const [oldest, ow] = this.watches.entries().next().value!;
      ow.close();
      this.watches.delete(oldest);
    }
    this.watches.set(commonDir, w);
    return w;
  }

  private commonDir(repoPath: string): Promise<string | null> {
    let p = this.commonDirs.get(repoPath);
    if (!p) {
      p = git(repoPath, ['rev-parse', '--path-format=absolute', '--git-common-dir']).then(
        (r) => r.stdout.trim(),
        () => null,
      );
      this.commonDirs.set(repoPath, p);
      void p.then((d) => {
        if (d === null) this.commonDirs.delete(repoPath);
      });
    }
    return p;
  }
}

const sameKey = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
const observationKey = (e: Entry) => `${e.key.join('/')}|${e.at}|${e.watch ? e.seq : '-'}`;
const inodeOf = (statKey: string) => statKey.split('.')[2];

/** A loose ref's sha; anything else (gone, a folder, a symbolic ref, garbage) needs the full read. */
async function readLooseRef(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'latin1');
  } catch {
    throw new NeedFullRead();
  }
  const sha = text.trim();
  if (!OBJECT_NAME.test(sha)) throw new NeedFullRead();
  return sha;
}

async function statKey(file: string): Promise<string> {
  try {
    const s = await stat(file, { bigint: true });
    return `${s.mtimeNs}.${s.size}.${s.ino}`;
  } catch {
    return '-';
  }
}

function refStateKey(commonDir: string, baseBranch: string): Promise<string[]> {
  return Promise.all([
    statKey(path.join(commonDir, 'packed-refs')),
    statKey(path.join(commonDir, 'refs', 'heads', 'takos')),
    statKey(path.join(commonDir, 'refs', 'heads', ...baseBranch.split('/'))),
    statKey(path.join(commonDir, 'reftable', 'tables.list')),
  ]);
}

async function readFacts(spawner: GitSpawner, repoPath: string, baseBranch: string): Promise<{ facts: RefFacts; replaced: boolean }> {
  const tips = new Map<string, string>();
  const merged = new Set<string>();
  let replaced = false;
  try {
    const base = `refs/heads/${baseBranch}`;
    // The base branch's tip comes with the task branch tips (one process less than a separate rev-parse), and so
    // does whether any replace ref exists (see parentsAreGit).
    const [all, mergedOut] = await Promise.all([
      spawner.run(repoPath, ['for-each-ref', '--format=%(objectname) %(refname)', TASK_BRANCH_GLOB, base, 'refs/replace/']),
      spawner.run(repoPath, ['for-each-ref', '--format=%(refname)', `--merged=${base}`, TASK_BRANCH_GLOB]),
    ]);
    let baseSha: string | null = null;
    for (const line of all.stdout.split('\n')) {
      const sp = line.indexOf(' ');
      if (sp <= 0) continue;
      const ref = line.slice(sp + 1);
      if (ref === base) baseSha = line.slice(0, sp);
      else if (ref.startsWith('refs/replace/')) replaced = true;
      else tips.set(ref.slice('refs/heads/'.length), line.slice(0, sp));
    }
    for (const line of mergedOut.stdout.split('\n')) if (line) merged.add(line.slice('refs/heads/'.length));
    if (!baseSha) return { facts: { available: false, error: `base branch ${baseBranch} does not exist`, baseSha: null, tips, merged: new Set() }, replaced };
    return { facts: { available: true, error: null, baseSha, tips, merged }, replaced };
  } catch (err) {
    return { facts: { available: false, error: (err as Error).message, baseSha: null, tips: new Map(), merged: new Set() }, replaced };
  }
}

/** The tips of task branches not in the base branch, by sha. */
function unmergedShas(facts: RefFacts): Set<string> {
  const out = new Set<string>();
  for (const [ref, sha] of facts.tips) if (!facts.merged.has(ref)) out.add(sha);
  return out;
}
