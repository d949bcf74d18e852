import type { Sql } from '../db.ts';
import { loadBoardRows, type BoardTaskRow } from './board-queries.ts';
import { deriveStatuses } from './derive.ts';
import type { RefObserver } from './refs.ts';
import type { TaskRunRow } from './run-row.ts';
import type { DerivedStatus, TaskFacts } from './types.ts';

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
}

export interface BoardProject {
  id: string;
  repo_path: string;
  base_branch: string;
  version: string;
}

interface Rows {
  version: string;
  tasks: BoardTaskRow[];
  byId: Map<string, BoardTaskRow>;
  children: Map<string, string[]>;
  deps: Map<string, string[]>;
  latest: Map<string, TaskRunRow>;
  forks: Map<string, string | null>;
  /** Live runs' heartbeats are read with the rows; past this time they must be read again (see Derivation). */
  validUntil: number;
}

export class Board {
  private readonly snapshots = new Map<string, BoardSnapshot>();
  private readonly loading = new Map<string, Promise<BoardSnapshot>>();
  /** The rows of the last snapshot per project: a ref change alone re-derives from them without reading the database. */
  private readonly rows = new Map<string, Rows>();

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
      // Map order doubles as LRU order.
      this.snapshots.delete(project.id);
      this.snapshots.set(project.id, hit);
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
    this.snapshots.delete(project.id);
    if (this.snapshots.size >= this.maxProjects) this.snapshots.delete(this.snapshots.keys().next().value!);
    this.snapshots.set(project.id, snap);
    return snap;
  }

  private async loadRows(project: BoardProject): Promise<Rows> {
    const cached = this.rows.get(project.id);
    if (cached && cached.version === project.version && Date.now() < cached.validUntil) return cached;
    const raw = await loadBoardRows(this.sql, project.id);
    const byId = new Map<string, BoardTaskRow>();
    const children = new Map<string, string[]>();
    const deps = new Map<string, string[]>();
    const latest = new Map<string, TaskRunRow>();
    const forks = new Map<string, string | null>();
    for (const t of raw.tasks) byId.set(t.id, t);
    for (const t of raw.tasks) {
      if (t.parent_id === null) continue;
      const list = children.get(t.parent_id);
      if (list) list.push(t.id);
      else children.set(t.parent_id, [t.id]);
    }
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
    const rows: Rows = { version: project.version, tasks: raw.tasks, byId, children, deps, latest, forks, validUntil: Infinity };
    this.rows.delete(project.id);
    if (this.rows.size >= this.maxProjects) this.rows.delete(this.rows.keys().next().value!);
    this.rows.set(project.id, rows);
    return rows;
  }

  private async build(project: BoardProject, key: string, refs: Parameters<typeof deriveStatuses>[0]['refs']): Promise<BoardSnapshot> {
    const rows = await this.loadRows(project);
    const { byId, children, deps, latest, forks } = rows;
    const facts: TaskFacts[] = rows.tasks.map((t) => {
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
    });
    const { statuses, validUntil } = deriveStatuses({ tasks: facts, refs, baseBranch: project.base_branch, now: Date.now() });
    rows.validUntil = validUntil;
    return { projectId: project.id, key, tasks: rows.tasks, byId, children, deps, latest, statuses, validUntil, extras: new Map() };
  }
}
