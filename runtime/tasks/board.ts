import type { Sql } from '../db.ts';
import { loadBoardRows, loadChangedRows, type BoardRows, type BoardTaskRow } from './board-queries.ts';
import { changedSince } from './changes.ts';
import { deriveKeepingObjects, deriveStatuses, rederive, type Derivation } from './derive.ts';
import { taskBranch, taskIdOfBranch } from './git.ts';
import type { RefObserver } from './refs.ts';
import type { TaskRunRow } from './run-row.ts';
import type { DerivedStatus, RefFacts, TaskFacts } from './types.ts';

/**
 * A project's tasks with their derived statuses: what every task read (list, detail, cancel, run start) works from.
 *
 * Cached per project under (project version, repository ref-state key): `projects.version` is bumped in the same
 * transaction as every change to the project's tasks, dependencies and runs, and the ref key changes whenever the
 * repository's refs may have (refs.ts). The version is read (with the access check) before the rows are loaded, so a
 * snapshot is never older than its key. A snapshot with a live run also expires when that run's heartbeat would go
 * stale. Concurrent misses for the same key share one load. The rows are kept per project under the version alone,
 * so a change of refs only (a merge, a run's commit) re-derives without reading the database, and a database change
 * only re-reads the database (the ref facts are cached in refs.ts). `extras` lets readers hang per-snapshot caches
 * (rendered lists) on a snapshot, so they die with it.
 *
 * After a change of refs only, the derivation is incremental: the tasks whose branch tip or merged-ness differ from
 * the last derivation's are handed to rederive (derive.ts), which recomputes what depends on them and keeps every
 * other status object; when no task's facts changed (a ref that is no task's moved) the last snapshot's statuses
 * and rendered lists are kept whole. Measured with bench:tasks (5,000 tasks): a commit on one task branch went from
 * ~66 ms of server CPU (git listing every ref, deriving and rendering everything) to the figures in
 * bench/results/tasks-*.md.
 */
export interface BoardSnapshot {
  projectId: string;
  key: string;
  tasks: BoardTaskRow[];
  byId: Map<string, BoardTaskRow>;
  children: Map<string, string[]>;
  deps: Map<string, string[]>;
  latest: Map<string, TaskRunRow>;
  statuses: Map<string, DerivedStatus>;
  validUntil: number;
  extras: Map<string, unknown>;
  /**
   * When this snapshot was derived from `snapshot` over the same tasks (same ids in the same order, same parents and
   * dependencies): the tasks whose status object or row object differs (renderers then update only those). Dropped
   * once read by the next snapshot's derivation, so snapshots never chain.
   */
  previous?: { snapshot: BoardSnapshot; changed: string[] } | undefined;
}

export interface BoardProject {
  id: string;
  repo_path: string;
  base_branch: string;
  version: string;
}

interface Rows {
  version: string;
  /** What derivation reads of each task, built once per version (derive.ts takes the same array back in rederive). */
  facts: TaskFacts[];
  /** taskBranch(id) per task, in `tasks` order. */
  branches: string[];
  tasks: BoardTaskRow[];
  byId: Map<string, BoardTaskRow>;
  /** Position of each task in `tasks` (and `facts`, `branches`); shared by rows patched from these. */
  index: Map<string, number>;
  children: Map<string, string[]>;
  deps: Map<string, string[]>;
  latest: Map<string, TaskRunRow>;
  forks: Map<string, string | null>;
  /** Set on rows patched from `from` (patchRows): the tasks whose facts may differ from its; diffs need look no further. */
  patch?: { from: Rows; changed: ReadonlySet<string> } | undefined;
  /** Live runs' heartbeats are read with the rows; past this time they must be read again (see Derivation). */
  validUntil: number;
}

export class Board {
  private readonly snapshots = new Map<string, BoardSnapshot>();
  private readonly loading = new Map<string, Promise<BoardSnapshot>>();
  /** The rows of the last snapshot per project: a ref change alone re-derives from them without reading the database. */
  private readonly rows = new Map<string, Rows>();
  /** The last derivation per project, with what it was derived from: where rederive starts. */
  private readonly derived = new Map<string, { rows: Rows; refs: RefFacts; baseBranch: string; derivation: Derivation; snapshot: BoardSnapshot }>();

  /**
   * Derivations by kind (in full, or downstream of what changed) and row loads by kind (every row, or the tasks the
   * change log named): tests check which path a change took.
   */
  readonly stats = { full: 0, incremental: 0, rowsFull: 0, rowsChanged: 0 };

  constructor(
    private readonly sql: Sql,
    readonly refs: RefObserver,
    private readonly maxProjects = 64,
  ) {}

  async snapshot(project: BoardProject): Promise<BoardSnapshot> {
    const obs = await this.refs.observe(project.repo_path, project.base_branch);
    const key = `${project.version}|${project.base_branch}|${obs.key}`;
    const hit = this.snapshots.get(project.id);
    if (hit && hit.key === key && Date.now() < hit.validUntil) {
      lruSet(this.snapshots, project.id, hit, this.maxProjects);
      return hit;
    }
    const loadKey = `${project.id}|${key}`;
    let p = this.loading.get(loadKey);
    if (!p) {
      p = this.build(project, key, obs.facts);
      this.loading.set(loadKey, p);
      void p.finally(() => this.loading.delete(loadKey)).catch(() => undefined);
    }
    const snap = await p;
    lruSet(this.snapshots, project.id, snap, this.maxProjects);
    return snap;
  }

  private async loadRows(project: BoardProject): Promise<Rows> {
    const cached = this.rows.get(project.id);
    if (cached && cached.version === project.version && Date.now() < cached.validUntil) return cached;
    // After writes that recorded which existing tasks they changed (changes.ts), only those are read again and
    // patched into the last rows.
    if (cached && Date.now() < cached.validUntil) {
      const changed = await changedSince(this.sql, project.id, cached.version, project.version);
      const fresh = changed === null ? null : await loadChangedRows(this.sql, project.id, cached.byId, changed);
      if (changed !== null && fresh !== null) {
        this.stats.rowsChanged++;
        const rows = patchRows(cached, project.version, changed, fresh);
        lruSet(this.rows, project.id, rows, this.maxProjects);
        return rows;
      }
    }
    this.stats.rowsFull++;
    // A task whose stored fields did not change keeps its row object (board-queries.ts): renderers cache a task's
    // JSON per row object (list-render.ts), so after a write only the tasks it touched (and whose status moved) are
    // rendered again.
    const raw = await loadBoardRows(this.sql, project.id, cached?.byId);
    const byId = new Map<string, BoardTaskRow>();
    const index = new Map<string, number>();
    const children = new Map<string, string[]>();
    const deps = new Map<string, string[]>();
    const latest = new Map<string, TaskRunRow>();
    const forks = new Map<string, string | null>();
    raw.tasks.forEach((t, i) => {
      byId.set(t.id, t);
      index.set(t.id, i);
    });
    for (const t of raw.tasks) {
      if (t.parent_id === null) continue;
      const list = children.get(t.parent_id);
      if (list) list.push(t.id);
      else children.set(t.parent_id, [t.id]);
    }
    addRows(raw, deps, latest, forks);
    const facts = raw.tasks.map((t) => taskFacts(t, deps, latest, forks));
    const branches = raw.tasks.map((t) => taskBranch(t.id));
    const rows: Rows = { version: project.version, facts, branches, tasks: raw.tasks, byId, index, children, deps, latest, forks, validUntil: Infinity };
    lruSet(this.rows, project.id, rows, this.maxProjects);
    return rows;
  }

  private async build(project: BoardProject, key: string, refs: RefFacts): Promise<BoardSnapshot> {
    const rows = await this.loadRows(project);
    const { byId, children, deps, latest } = rows;
    const now = Date.now();
    const input = { tasks: rows.facts, refs, baseBranch: project.base_branch, now };
    const last = this.derived.get(project.id);
    let derivation: Derivation;
    let previous: BoardSnapshot['previous'];
    // The same tasks, parents and dependencies as the last derivation (the same rows, or a write that changed a title,
    // a cancellation, a run): re-derive downstream of what changed. Otherwise derive in full, keeping the objects of
    // unchanged statuses for the renderers when there is a last derivation to keep them from.
    const diff = last && last.baseBranch === project.base_branch ? (last.rows === rows ? NO_DIFF : factsDiff(last.rows, rows)) : null;
    if (last && diff) {
      const changed = changedTasks(rows, last.refs, refs);
      if (last.rows === rows && changed.size === 0 && now < last.derivation.validUntil && last.refs.available === refs.available && last.refs.error === refs.error) {
        // Nothing this project shows has changed: the same statuses, and the lists already rendered from them.
        const snap: BoardSnapshot = { ...last.snapshot, key, previous: undefined };
        this.remember(project.id, { ...last, refs, snapshot: snap });
        return snap;
      }
      for (const id of diff.changed) changed.add(id);
      // rederive checks the rest of its contract (availability, time) itself and derives in full when it fails.
      derivation = rederive(last.derivation, input, changed, diff.relabelled);
      // Renderers redo the tasks whose status or row changed, on top of the last snapshot's pieces.
      const redo = new Set(derivation.changed ?? changedStatuses(rows, last.derivation.statuses, derivation.statuses));
      for (const id of diff.rowChanged) redo.add(id);
      previous = { snapshot: last.snapshot, changed: [...redo] };
      // The last snapshot's own link is not needed any more; dropping it keeps at most two snapshots alive.
      last.snapshot.previous = undefined;
    } else if (last && last.baseBranch === project.base_branch) {
      derivation = deriveKeepingObjects(last.derivation, input);
    } else {
      derivation = deriveStatuses(input);
    }
    if (derivation.changed === undefined) this.stats.full++;
    else this.stats.incremental++;
    rows.validUntil = derivation.validUntil;
    const snapshot: BoardSnapshot = {
      projectId: project.id, key, tasks: rows.tasks, byId, children, deps, latest, statuses: derivation.statuses, validUntil: derivation.validUntil, extras: new Map(), previous,
    };
    this.remember(project.id, { rows, refs, baseBranch: project.base_branch, derivation, snapshot });
    return snapshot;
  }

  private remember(projectId: string, d: { rows: Rows; refs: RefFacts; baseBranch: string; derivation: Derivation; snapshot: BoardSnapshot }): void {
    lruSet(this.derived, projectId, d, this.maxProjects);
  }
}

/** Adds `raw`'s dependencies (in their order, per task) and latest runs with their fork points to the maps. */
function addRows(raw: BoardRows, deps: Map<string, string[]>, latest: Map<string, TaskRunRow>, forks: Map<string, string | null>): void {
  for (const d of raw.deps) {
    const list = deps.get(d.task_id);
    if (list) list.push(d.depends_on_task_id);
    else deps.set(d.task_id, [d.depends_on_task_id]);
  }
  for (const r of raw.latest) {
    const { fork_sha, ...run } = r;
    latest.set(r.task_id, run);
    forks.set(r.task_id, fork_sha);
  }
}

function taskFacts(t: BoardTaskRow, deps: Map<string, string[]>, latest: Map<string, TaskRunRow>, forks: Map<string, string | null>): TaskFacts {
  const run = latest.get(t.id);
  return {
    id: t.id,
    parentId: t.parent_id,
    title: t.title,
    cancelledAt: t.cancelled_at,
    dependsOn: deps.get(t.id) ?? [],
    latestRun: run
      ? { id: run.id, status: run.status, heartbeatAt: run.heartbeat_at.getTime(), error: run.error, headSha: run.head_sha, baseSha: run.base_sha }
      : null,
    forkSha: forks.get(t.id) ?? null,
  };
}

/**
 * `cached` with the rows of the `changed` tasks replaced by `fresh` (all of them existing tasks: no task is added,
 * and none moves in the tree, since no API re-parents one). The maps are copied, not changed: snapshots built on
 * `cached` keep reading them. A row whose stored fields are the same keeps its object, as in loadBoardRows.
 */
function patchRows(cached: Rows, version: string, changed: ReadonlySet<string>, fresh: BoardRows): Rows {
  const tasks = cached.tasks.slice();
  const byId = new Map(cached.byId);
  const deps = new Map(cached.deps);
  const latest = new Map(cached.latest);
  const forks = new Map(cached.forks);
  const facts = cached.facts.slice();
  for (const id of changed) {
    deps.delete(id);
    latest.delete(id);
    forks.delete(id);
  }
  addRows(fresh, deps, latest, forks);
  for (const row of fresh.tasks) {
    const i = cached.index.get(row.id)!;
    const old = tasks[i]!;
    const t = old.hash === row.hash ? old : row;
    tasks[i] = t;
    byId.set(t.id, t);
    facts[i] = taskFacts(t, deps, latest, forks);
  }
  // Only the newest link is needed (build diffs the rows it derives from against the last ones): rows never chain.
  cached.patch = undefined;
  return {
    version, facts, branches: cached.branches, tasks, byId, index: cached.index, children: cached.children, deps, latest, forks,
    patch: { from: cached, changed }, validUntil: Infinity,
  };
}

/** Sets `key` as the most recent entry of `map` (Map order doubles as LRU order), evicting the oldest past `max`. */
function lruSet<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  if (map.size >= max) map.delete(map.keys().next().value!);
  map.set(key, value);
}

/** Tasks whose status object is not the same in two derivations over the same rows (when rederive fell back). */
function changedStatuses(rows: Rows, before: Map<string, DerivedStatus>, after: Map<string, DerivedStatus>): string[] {
  const out: string[] = [];
  for (const t of rows.tasks) if (before.get(t.id) !== after.get(t.id)) out.push(t.id);
  return out;
}

/**
 * What a write changed between two loads of a project's rows, when they hold the same tasks in the same order with
 * the same parents and dependencies (null otherwise): the tasks whose derivation facts differ (title, cancellation,
 * latest run, fork point), those among them with a new title, and every task whose row object is new (any stored
 * field, description included: the renderers' cache is per row object).
 */
function factsDiff(before: Rows, after: Rows): FactsDiff | null {
  const a = before.facts;
  const b = after.facts;
  if (a.length !== b.length) return null;
  const changed = new Set<string>();
  const relabelled = new Set<string>();
  const rowChanged: string[] = [];
  // Rows patched straight from `before` differ from it only at the tasks the patch names.
  const only = after.patch?.from === before ? [...after.patch.changed].map((id) => after.index.get(id)!) : null;
  const count = only ? only.length : a.length;
  for (let k = 0; k < count; k++) {
    const i = only ? only[k]! : k;
    const x = a[i]!;
    const y = b[i]!;
    if (x.id !== y.id || x.parentId !== y.parentId || !sameList(x.dependsOn, y.dependsOn)) return null;
    if (before.tasks[i] !== after.tasks[i]) rowChanged.push(y.id);
    const retitled = x.title !== y.title;
    if (retitled) relabelled.add(y.id);
    if (
      retitled ||
      x.cancelledAt?.getTime() !== y.cancelledAt?.getTime() ||
      x.forkSha !== y.forkSha ||
      !sameRun(x.latestRun, y.latestRun)
    ) {
      changed.add(y.id);
    }
  }
  return { changed, relabelled, rowChanged };
}

type FactsDiff = { changed: ReadonlySet<string>; relabelled: ReadonlySet<string>; rowChanged: readonly string[] };
/** The diff of rows with themselves. */
const NO_DIFF: FactsDiff = { changed: new Set(), relabelled: new Set(), rowChanged: [] };

const sameList = (x: string[], y: string[]) => x.length === y.length && x.every((v, i) => v === y[i]);

function sameRun(x: TaskFacts['latestRun'], y: TaskFacts['latestRun']): boolean {
  if (x === null || y === null) return x === y;
  return x.id === y.id && x.status === y.status && x.heartbeatAt === y.heartbeatAt && x.error === y.error && x.headSha === y.headSha && x.baseSha === y.baseSha;
}

/** Tasks whose branch tip or merged-ness differs between two readings of the refs. */
function changedTasks(rows: Rows, before: RefFacts, after: RefFacts): Set<string> {
  const changed = new Set<string>();
  if (before.tips === after.tips && before.merged === after.merged) return changed;
  // An incremental read says which branches it changed (refs.ts): no need to compare every task's.
  if (after.delta?.from === before) {
    for (const b of after.delta.branches) {
      const id = taskIdOfBranch(b);
      if (id !== null && rows.byId.has(id)) changed.add(id);
    }
    return changed;
  }
  const { branches, tasks } = rows;
  for (let i = 0; i < branches.length; i++) {
    const b = branches[i]!;
    if (before.tips.get(b) !== after.tips.get(b) || before.merged.has(b) !== after.merged.has(b)) changed.add(tasks[i]!.id);
  }
  return changed;
}
