import { taskBranch } from './git.ts';
import { leafStatus, type LeafContext } from './leaf-status.ts';
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
 *
 * Incremental path (rederive): most new derivations follow a change of a few branches only (a run committed to one
 * task branch, a merge into the base branch), with the task rows untouched. The full walk keeps what it built (the
 * numbered graph, each node's value, and the order it computed the nodes in, which is a topological order), so
 * rederive recomputes only the nodes downstream of the changed tasks' status, in that order, on copies of the value
 * arrays (the previous derivation may still be read by others). Consumers of a status only ever read its status
 * word (a dependency's done-ness, a parent's summary, the "which is <status>" of a blocker's message), so a change
 * stops spreading where a status word stays the same; and a status that comes out deep-equal keeps its old object,
 * because renderers cache per status object. Results on a cycle or on duplicate ids depend on the walk's order, so
 * there rederive derives in full and only keeps the objects of unchanged statuses.
 */
export const RUN_STALE_MS = 30_000;

export interface Derivation {
  statuses: Map<string, DerivedStatus>;
  /** Epoch ms after which the result can change with no write at all (a live run whose heartbeat goes stale). */
  validUntil: number;
  /** What rederive starts from; opaque outside this module. */
  state: DerivationState;
  /**
   * Set by rederive when it did not fall back to a full derivation: the tasks whose status object is not prev's, in
   * the order they were recomputed (so callers need not compare 5,000 entries to find the two that changed).
   */
  changed?: string[] | undefined;
}

export interface DeriveInput {
  tasks: TaskFacts[];
  refs: RefFacts;
  baseBranch: string;
  now: number;
}

/** Internal to this module: callers only pass it back to rederive. */
export interface DerivationState {
  readonly graph: Graph;
  readonly statusOf: DerivedStatus[];
  readonly blockersOf: Blockers[];
  /** Per task, when its live run's heartbeat goes stale; Infinity for parents and leaves without a live run. */
  readonly liveUntil: Float64Array;
  readonly now: number;
  readonly baseBranch: string;
  readonly available: boolean;
  readonly error: string | null;
}

/** The numbered task list; it only depends on the task rows, so every derivation rederived from one shares it. */
interface Graph {
  readonly n: number;
  readonly index: Map<string, number>;
  readonly parent: Int32Array;
  readonly kids: Array<number[] | undefined>;
  readonly deps: number[][];
  /** Encoded nodes in the order the full walk computed them: every node after all it reads. */
  readonly order: Int32Array;
  /** A cycle was met, or two tasks share an id: the result then depends on the walk, so rederive derives in full. */
  irregular: boolean;
  /** Built by the first rederive and shared from then on (a full derivation does not pay for them). */
  incremental: Incremental | null;
}

interface Incremental {
  rank: Int32Array;
  /** Reverse dependency edges, CSR: the tasks depending on task i are dependents[dependentsAt[i] .. dependentsAt[i + 1]). */
  dependentsAt: Int32Array;
  dependents: Int32Array;
  /** Scratch, all zero between calls (rederive is synchronous, so calls cannot interleave): queued nodes by rank. */
  queued: Uint8Array;
  /** Scratch, all zero between calls: tasks whose status word changed in the current rederive. */
  wordChanged: Uint8Array;
}

/** Everything computeBlockers and computeStatus read; one object, so both walks share the two functions. */
interface Work {
  tasks: TaskFacts[];
  graph: Graph;
  statusOf: Array<DerivedStatus | undefined>;
  blockersOf: Array<Blockers | undefined>;
  statuses: Map<string, DerivedStatus>;
  title: (id: string) => string;
  leaf: LeafContext;
  /** liveUntil of the status computeStatus returned last (Infinity when none). */
  live: number;
}

const NO_BLOCKERS: Blockers = { list: [], total: 0 };
const NONE: ReadonlySet<string> = new Set();
// Node encoding on the stack: task index * 2 + kind (0 = blockers, 1 = status).
const BLOCKERS = 0;
const STATUS = 1;

function buildGraph(tasks: TaskFacts[]) {
  const n = tasks.length;
  const index = new Map<string, number>();
  for (let i = 0; i < n; i++) index.set(tasks[i]!.id, i);
  const parent = new Int32Array(n).fill(-1);
  const deps: number[][] = new Array(n);
  const kids: Array<number[] | undefined> = new Array(n);
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
  return { n, index, parent, kids, deps };
}

function work(input: DeriveInput, graph: Graph, statusOf: Work['statusOf'], blockersOf: Work['blockersOf'], statuses: Map<string, DerivedStatus>): Work {
  const { tasks, refs, baseBranch, now } = input;
  const index = graph.index;
  const title = (id: string) => {
    const i = index.get(id);
    return i === undefined ? id : tasks[i]!.title;
  };
  return { tasks, graph, statusOf, blockersOf, statuses, title, leaf: { branch: '', baseBranch, refs, now, staleMs: RUN_STALE_MS }, live: Infinity };
}

function computeBlockers(w: Work, i: number): Blockers {
  const { tasks, statusOf, blockersOf } = w;
  const own = w.graph.deps[i]!;
  const p = w.graph.parent[i]!;
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
  return list === null && total === 0 ? NO_BLOCKERS : { list: list ?? [], total };
}

function computeStatus(w: Work, i: number): DerivedStatus {
  const { tasks, statusOf } = w;
  const t = tasks[i]!;
  const b = w.blockersOf[i] ?? NO_BLOCKERS;
  const ks = w.graph.kids[i];
  if (ks !== undefined) {
    const summary: Array<{ id: string; title: string; status: TaskStatus }> = new Array(ks.length);
    for (let k = 0; k < ks.length; k++) {
      const c = tasks[ks[k]!]!;
      summary[k] = { id: c.id, title: c.title, status: statusOf[ks[k]!]?.status ?? 'blocked' };
    }
    w.live = Infinity;
    return parentStatus(t, summary, b, w.statuses, w.title);
  }
  w.leaf.branch = taskBranch(t.id);
  const leaf = leafStatus(t, b, w.leaf, w.statuses, w.title);
  w.live = leaf.liveUntil ?? Infinity;
  return leaf.derived;
}

export function deriveStatuses(input: DeriveInput): Derivation {
  const { tasks } = input;
  const { n, index, parent, kids, deps } = buildGraph(tasks);
  const order = new Int32Array(n * 2);
  let computed = 0;
  let irregular = index.size !== n;
  const graph: Graph = { n, index, parent, kids, deps, order, irregular, incremental: null };

  const statusOf: Array<DerivedStatus | undefined> = new Array(n);
  const blockersOf: Array<Blockers | undefined> = new Array(n);
  const liveUntil = new Float64Array(n);
  const statusMap = new Map<string, DerivedStatus>();
  const w = work(input, graph, statusOf, blockersOf, statusMap);
  // 0 = not seen, 1 = on the stack, 2 = computed; per encoded node.
  const state = new Uint8Array(n * 2);
  const stack: number[] = [];
  let validUntil = Infinity;

  // Pushes a prerequisite unless it is computed or already on the stack (a cycle: it is then read as not done).
  const need = (node: number) => {
    if (state[node] !== 0) {
      if (state[node] === 1) irregular = true;
      return false;
    }
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
      if (kind === STATUS) {
        const derived = computeStatus(w, i);
        statusOf[i] = derived;
        statusMap.set(tasks[i]!.id, derived);
        liveUntil[i] = w.live;
        if (w.live < validUntil) validUntil = w.live;
      } else {
        blockersOf[i] = computeBlockers(w, i);
      }
      order[computed++] = node;
      state[node] = 2;
      stack.pop();
    }
  }
  graph.irregular = irregular;
  const { refs, baseBranch, now } = input;
  return {
    statuses: statusMap,
    validUntil,
    state: { graph, statusOf: statusOf as DerivedStatus[], blockersOf: blockersOf as Blockers[], liveUntil, now, baseBranch, available: refs.available, error: refs.error },
  };
}

/**
 * Re-derives after only the facts of `changed` tasks may have changed: their ref facts (branch tip, merged-ness),
 * cancelledAt, latestRun and forkSha, and, for the tasks also in `relabelled`, their title (which other tasks' reasons
 * quote: a parent's summary, dependents' and their subtasks' "depends on ..." lines).
 * The caller guarantees: input.tasks lists the same tasks as prev's input (same order, ids, parents, dependencies),
 * with the same facts outside those sets, refs.available and refs.error are unchanged, and input.now <
 * prev.validUntil. Returns what deriveStatuses(input) would, with prev's object kept for every status that did not
 * change; prev is left as it was.
 */
export function rederive(prev: Derivation, input: DeriveInput, changed: ReadonlySet<string>, relabelled: ReadonlySet<string> = NONE): Derivation {
  const s = prev.state;
  const graph = s.graph;
  // The parts of the contract that are cheap to check: a caller breaking them gets a full derivation, not a wrong
  // one. Time going back could revive a run already read as lost, hence now >= s.now.
  if (
    graph.irregular ||
    input.tasks.length !== graph.n ||
    input.baseBranch !== s.baseBranch ||
    input.refs.available !== s.available ||
    input.refs.error !== s.error ||
    !(input.now >= s.now && input.now < prev.validUntil)
  ) {
    return deriveKeepingObjects(prev, input);
  }
  const inc = (graph.incremental ??= incremental(graph));
  const { rank, dependentsAt, dependents, queued, wordChanged } = inc;
  const { order, kids, parent, index } = graph;
  const { tasks } = input;

  const statusOf = s.statusOf.slice();
  const blockersOf = s.blockersOf.slice();
  // Filled in the full walk's order, so it iterates like deriveStatuses' map; a loop beats new Map(prev.statuses),
  // and this copy is most of what a rederive costs.
  const statuses = new Map<string, DerivedStatus>();
  for (let r = 0; r < order.length; r++) {
    const node = order[r]!;
    if ((node & 1) === STATUS) statuses.set(tasks[node >> 1]!.id, statusOf[node >> 1]!);
  }
  let liveUntil = s.liveUntil;
  const changedIds: string[] = [];
  const w = work(input, graph, statusOf, blockersOf, statuses);

  // Nodes are queued by rank and taken in rank order: everything a node reads comes earlier in it, so a node is
  // recomputed once, after all its inputs, and what it queues always lies ahead of the scan.
  let first = queued.length;
  let pending = 0;
  let words = 0;
  const enqueue = (node: number) => {
    const r = rank[node]!;
    if (queued[r] !== 0) return;
    queued[r] = 1;
    pending++;
    if (r < first) first = r;
  };
  for (const id of changed) {
    const i = index.get(id);
    if (i !== undefined) enqueue(i * 2 + STATUS);
  }

  try {
    // A new title reads like a changed status word to whoever quotes it: the parent's summary, and dependents'
    // blocker lists (which spread to their subtasks through inherited blockers).
    for (const id of relabelled) {
      const i = index.get(id);
      if (i === undefined) continue;
      if (wordChanged[i] === 0) {
        wordChanged[i] = 1;
        words++;
      }
      enqueue(i * 2 + STATUS);
      const p = parent[i]!;
      if (p >= 0) enqueue(p * 2 + STATUS);
      for (let k = dependentsAt[i]!; k < dependentsAt[i + 1]!; k++) enqueue(dependents[k]! * 2 + BLOCKERS);
    }
    for (let r = first; pending > 0; r++) {
      if (queued[r] === 0) continue;
      queued[r] = 0;
      pending--;
      const node = order[r]!;
      const i = node >> 1;
      if ((node & 1) === BLOCKERS) {
        const old = blockersOf[i]!;
        const b = computeBlockers(w, i);
        // The same list still reads differently when a listed dependency's status word changed ("which is ...").
        let spread = true;
        if (sameBlockers(old, b)) spread = words > 0 && listsChangedWord(old, index, wordChanged);
        else blockersOf[i] = b;
        if (!spread) continue;
        enqueue(i * 2 + STATUS);
        const ks = kids[i];
        if (ks !== undefined) for (const k of ks) enqueue(k * 2 + BLOCKERS);
      } else {
        const old = statusOf[i]!;
        const d = computeStatus(w, i);
        if (w.live !== liveUntil[i]) {
          if (liveUntil === s.liveUntil) liveUntil = liveUntil.slice();
          liveUntil[i] = w.live;
        }
        if (sameStatus(old, d)) continue;
        statusOf[i] = d;
        statuses.set(tasks[i]!.id, d);
        changedIds.push(tasks[i]!.id);
        if (d.status === old.status) continue;
        wordChanged[i] = 1;
        words++;
        const p = parent[i]!;
        if (p >= 0) enqueue(p * 2 + STATUS);
        for (let k = dependentsAt[i]!; k < dependentsAt[i + 1]!; k++) enqueue(dependents[k]! * 2 + BLOCKERS);
      }
    }
  } finally {
    // Leaves the shared scratch zeroed, also if a rule threw halfway.
    if (pending > 0) queued.fill(0);
    if (words > 0) wordChanged.fill(0);
  }
  // Only a recomputed task's liveness can have changed (a new latest run); the rest is prev's, valid under the contract.
  let validUntil = prev.validUntil;
  if (liveUntil !== s.liveUntil) {
    validUntil = Infinity;
    for (let k = 0; k < liveUntil.length; k++) if (liveUntil[k]! < validUntil) validUntil = liveUntil[k]!;
  }
  return {
    statuses,
    validUntil,
    state: { graph, statusOf, blockersOf, liveUntil, now: input.now, baseBranch: s.baseBranch, available: s.available, error: s.error },
    changed: changedIds,
  };
}

function incremental(graph: Graph): Incremental {
  const { n, deps, order } = graph;
  const rank = new Int32Array(n * 2);
  for (let r = 0; r < order.length; r++) rank[order[r]!] = r;
  const dependentsAt = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) for (const d of deps[i]!) dependentsAt[d + 1]!++;
  for (let i = 0; i < n; i++) dependentsAt[i + 1]! += dependentsAt[i]!;
  const dependents = new Int32Array(dependentsAt[n]!);
  const fill = dependentsAt.slice(0, n);
  for (let i = 0; i < n; i++) for (const d of deps[i]!) dependents[fill[d]!++] = i;
  return { rank, dependentsAt, dependents, queued: new Uint8Array(n * 2), wordChanged: new Uint8Array(n) };
}

/**
 * A full derivation, then prev's object back wherever the status came out the same: rederive's fallback, and what
 * the board uses after a write changed the rows (any task list: ids are matched by id), so renderers keep what they
 * cached for every status that did not change.
 */
export function deriveKeepingObjects(prev: Derivation, input: DeriveInput): Derivation {
  const next = deriveStatuses(input);
  const statusOf = next.state.statusOf;
  for (let i = 0; i < statusOf.length; i++) {
    const id = input.tasks[i]!.id;
    const old = prev.statuses.get(id);
    const d = statusOf[i]!;
    if (old === undefined || old === d || !sameStatus(old, d)) continue;
    statusOf[i] = old;
    // With duplicate ids the map holds only the last task's status.
    if (next.statuses.get(id) === d) next.statuses.set(id, old);
  }
  return next;
}

function sameBlockers(a: Blockers, b: Blockers): boolean {
  if (a === b) return true;
  if (a.total !== b.total || a.list.length !== b.list.length) return false;
  for (let k = 0; k < a.list.length; k++) {
    const x = a.list[k]!;
    const y = b.list[k]!;
    if (x.dep !== y.dep || x.via !== y.via) return false;
  }
  return true;
}

function listsChangedWord(b: Blockers, index: Map<string, number>, wordChanged: Uint8Array): boolean {
  for (const x of b.list) if (wordChanged[index.get(x.dep)!] === 1) return true;
  return false;
}

/** Same status word and same reasons: what a reader of the status can see. */
export function sameStatus(a: DerivedStatus, b: DerivedStatus): boolean {
  if (a.status !== b.status || a.reasons.length !== b.reasons.length) return false;
  for (let k = 0; k < a.reasons.length; k++) {
    const x = a.reasons[k]!;
    const y = b.reasons[k]!;
    if (x.code !== y.code || x.message !== y.message || x.task_id !== y.task_id || x.run_id !== y.run_id) return false;
  }
  return true;
}
