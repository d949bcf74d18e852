import { taskBranch } from './git.ts';
import { leafStatus } from './leaf-status.ts';
import { parentStatus } from './parent-status.ts';
import type { Blocker, Blockers, DerivedStatus, RefFacts, TaskFacts } from './types.ts';

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

export function deriveStatuses({ tasks, refs, baseBranch, now }: DeriveInput): Derivation {
  const byId = new Map<string, TaskFacts>();
  for (const t of tasks) byId.set(t.id, t);
  const children = new Map<string, string[]>();
  for (const t of tasks) {
    if (t.parentId === null || !byId.has(t.parentId)) continue;
    const list = children.get(t.parentId);
    if (list) list.push(t.id);
    else children.set(t.parentId, [t.id]);
  }
  const statuses = new Map<string, DerivedStatus>();
  const blockers = new Map<string, Blockers>();
  const visiting = new Set<string>();
  let validUntil = Infinity;
  const title = (id: string) => byId.get(id)?.title ?? id;

  const isDone = (kind: 'd' | 's', id: string) => (kind === 'd' ? statuses.has(id) : blockers.has(id));
  const prerequisites = (kind: 'd' | 's', t: TaskFacts): Array<['d' | 's', string]> => {
    if (kind === 'd') return [['s', t.id], ...(children.get(t.id) ?? []).map((c): ['d', string] => ['d', c])];
    const out: Array<['d' | 's', string]> = [];
    for (const d of t.dependsOn) if (byId.has(d)) out.push(['d', d]);
    if (t.parentId !== null && byId.has(t.parentId)) out.push(['s', t.parentId]);
    return out;
  };

  const computeBlockers = (t: TaskFacts) => {
    const list: Blocker[] = [];
    let total = 0;
    for (const d of t.dependsOn) {
      if (!byId.has(d)) continue;
      total++;
      if (statuses.get(d)?.status !== 'done') list.push({ dep: d, via: null });
    }
    const inherited = t.parentId !== null ? blockers.get(t.parentId) : undefined;
    if (inherited) {
      total += inherited.total;
      for (const b of inherited.list) list.push({ dep: b.dep, via: b.via ?? t.parentId });
    }
    blockers.set(t.id, { list, total });
  };

  const computeStatus = (t: TaskFacts) => {
    const b = blockers.get(t.id) ?? { list: [], total: 0 };
    const kids = children.get(t.id);
    if (kids && kids.length > 0) {
      statuses.set(t.id, parentStatus(t, kids.map((k) => ({ id: k, title: title(k), status: statuses.get(k)?.status ?? 'blocked' })), b, statuses, title));
      return;
    }
    const branch = taskBranch(t.id);
    const leaf = leafStatus(t, b, { branch, baseBranch, refs, now, staleMs: RUN_STALE_MS }, statuses, title);
    if (leaf.liveUntil !== null) validUntil = Math.min(validUntil, leaf.liveUntil);
    statuses.set(t.id, leaf.derived);
  };

  for (const root of tasks) {
    if (statuses.has(root.id)) continue;
    const stack: Array<['d' | 's', string]> = [['d', root.id]];
    while (stack.length > 0) {
      const [kind, id] = stack[stack.length - 1]!;
      const key = kind + id;
      if (isDone(kind, id)) {
        stack.pop();
        visiting.delete(key);
        continue;
      }
      const t = byId.get(id)!;
      visiting.add(key);
      const missing = prerequisites(kind, t).filter(([k2, id2]) => !isDone(k2, id2) && !visiting.has(k2 + id2));
      if (missing.length > 0) {
        stack.push(...missing);
        continue;
      }
      if (kind === 's') computeBlockers(t);
      else computeStatus(t);
      stack.pop();
      visiting.delete(key);
    }
  }
  return { statuses, validUntil };
}
