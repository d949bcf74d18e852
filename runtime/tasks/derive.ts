import { taskBranch } from './git.ts';
import { leafStatus } from './leaf-status.ts';
import { parentStatus } from './parent-status.ts';
import type { Blocker, Blockers, DerivedStatus, RefFacts, TaskFacts, TaskStatus } from './types.ts';

/**
 * Derives every task's status of one project in one pass, in memory (docs/task-status.md has the rules and an
 * example per status). Nothing here touches the database or git: the caller hands in the facts.
 *
 * Each task has two values, computed in dependency order with an explicit stack (no recursion, so a 5,000-long
 * chain cannot overflow the call stack):
 *   - blockers(T): the dependencies of T and of T's ancestors that are not done (a child inherits what its
 *     ancestors wait for), plus how many such dependencies there are in total;
 *   - status(T): needs blockers(T) and, for a parent, its children's statuses.
 * The write path (graph.ts) keeps this graph acyclic; if a cycle was ever found here anyway, the node closing it is
 * read as "not done", so a derivation always terminates.
 *
 * Tasks are numbered and the walk runs on typed arrays without allocating per step: a first version with tuples,
 * string keys and closures per node took ~40 ms of CPU for 5,000 tasks (half of it GC); this one takes a few ms.
 */
export const RUN_STALE_MS = 30_000;

export interface Derivation {
  statuses: Map<string, DerivedStatus>;
  /** Epoch ms after which the result can change with no write at all (a live run whose heartbeat goes stale). */
  validUntil: number;
}

export interface DeriveInput {
  tasks: TaskFacts[];
  refs: RefFacts;
  baseBranch: string;
  now: number;
}

const NO_BLOCKERS: Blockers = { list: [], total: 0 };
// Node encoding on the stack: task index * 2 + kind (0 = blockers, 1 = status).
const BLOCKERS = 0;
const STATUS = 1;

export function deriveStatuses({ tasks, refs, baseBranch, now }: DeriveInput): Derivation {
  const n = tasks.length;
  const index = new Map<string, number>();
  for (let i = 0; i < n; i++) index.set(tasks[i]!.id, i);
  const parent = new Int32Array(n).fill(-1);
  const deps: number[][] = new Array(n);
  const kids: number[][] = new Array(n);
  for (let i = 0; i < n; i++) {
    const t = tasks[i]!;
    const p = t.parentId === null ? undefined : index.get(t.parentId);
    if (p !== undefined) {
      parent[i] = p;
      (kids[p] ??= []).push(i);
    }
    const list: number[] = [];
    for (const d of t.dependsOn) {
      const j = index.get(d);
      if (j !== undefined) list.push(j);
    }
    deps[i] = list;
  }

  const statusOf: Array<DerivedStatus | undefined> = new Array(n);
  const blockersOf: Array<Blockers | undefined> = new Array(n);
  // 0 = not seen, 1 = on the stack, 2 = computed; per encoded node.
  const state = new Uint8Array(n * 2);
  const stack: number[] = [];
  let validUntil = Infinity;
  const title = (id: string) => {
    const i = index.get(id);
    return i === undefined ? id : tasks[i]!.title;
  };
  const statusMap = new Map<string, DerivedStatus>();
  const ctx = { branch: '', baseBranch, refs, now, staleMs: RUN_STALE_MS };

  const computeBlockers = (i: number) => {
    const own = deps[i]!;
    const p = parent[i]!;
    const inherited = p >= 0 ? blockersOf[p] ?? NO_BLOCKERS : NO_BLOCKERS;
    let list: Blocker[] | null = null;
    for (const d of own) {
      if (statusOf[d]?.status !== 'done') (list ??= []).push({ dep: tasks[d]!.id, via: null });
    }
    if (inherited.list.length > 0) {
      list ??= [];
      const via = tasks[p]!.id;
      for (const b of inherited.list) list.push(b.via === null ? { dep: b.dep, via } : b);
    }
    const total = own.length + inherited.total;
    blockersOf[i] = list === null && total === 0 ? NO_BLOCKERS : { list: list ?? [], total };
  };

  const computeStatus = (i: number) => {
    const t = tasks[i]!;
    const b = blockersOf[i] ?? NO_BLOCKERS;
    const ks = kids[i];
    let derived: DerivedStatus;
    if (ks !== undefined) {
      const summary: Array<{ id: string; title: string; status: TaskStatus }> = new Array(ks.length);
      for (let k = 0; k < ks.length; k++) {
        const c = tasks[ks[k]!]!;
        summary[k] = { id: c.id, title: c.title, status: statusOf[ks[k]!]?.status ?? 'blocked' };
      }
      derived = parentStatus(t, summary, b, statusMap, title);
    } else {
      ctx.branch = taskBranch(t.id);
      const leaf = leafStatus(t, b, ctx, statusMap, title);
      if (leaf.liveUntil !== null && leaf.liveUntil < validUntil) validUntil = leaf.liveUntil;
      derived = leaf.derived;
    }
    statusOf[i] = derived;
    statusMap.set(t.id, derived);
  };

  // Pushes a prerequisite unless it is computed or already on the stack (a cycle: it is then read as not done).
  const need = (node: number) => {
    if (state[node] !== 0) return false;
    stack.push(node);
    return true;
  };

  for (let root = 0; root < n; root++) {
    if (state[root * 2 + STATUS] === 2) continue;
    stack.push(root * 2 + STATUS);
    while (stack.length > 0) {
      const node = stack[stack.length - 1]!;
      if (state[node] === 2) {
        stack.pop();
        continue;
      }
      const i = node >> 1;
      const kind = node & 1;
      if (state[node] === 0) {
        // First visit: push what is missing; come back to compute once it is done.
        state[node] = 1;
        let pushed = false;
        if (kind === STATUS) {
          pushed = need(i * 2 + BLOCKERS) || pushed;
          const ks = kids[i];
          if (ks !== undefined) for (const k of ks) pushed = need(k * 2 + STATUS) || pushed;
        } else {
          for (const d of deps[i]!) pushed = need(d * 2 + STATUS) || pushed;
          const p = parent[i]!;
          if (p >= 0) pushed = need(p * 2 + BLOCKERS) || pushed;
        }
        if (pushed) continue;
      }
      if (kind === STATUS) computeStatus(i);
      else computeBlockers(i);
      state[node] = 2;
      stack.pop();
    }
  }
  return { statuses: statusMap, validUntil };
}
