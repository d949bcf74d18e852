import type { TxSql } from '../db.ts';

/**
 * Cycle checks for the "waits for" graph, run inside the transaction that changes it, after the project row is
 * locked (every write to a project's tasks or dependencies takes that lock first), so two concurrent requests that
 * would each close a cycle are serialised and the second one sees the first one's edge.
 *
 * Each task has two nodes: start(T) ("T may begin") and done(T). Edges read "requires":
 *   start(T) -> done(D)  for each dependency D of T
 *   start(C) -> start(P) a subtask begins only when its parent may (it inherits the parent's dependencies)
 *   done(P)  -> done(C)  a parent is done when its subtasks are
 *   done(T)  -> start(T)
 * A cycle there is a deadlock: e.g. a subtask depending on its own ancestor, or A depending on B while B depends on
 * A's parent. Reachability is walked by a recursive CTE from the new edge's target to its source; UNION (not UNION
 * ALL) keeps each node once, so the walk is bounded by the project's size.
 */
type Node = { kind: 'start' | 'done'; id: string };

export async function reaches(tx: TxSql, from: Node[], to: Node): Promise<boolean> {
  if (from.length === 0) return false;
  const kinds = from.map((n) => n.kind);
  const ids = from.map((n) => n.id);
  const [row] = await tx<{ hit: boolean }[]>`
    WITH RECURSIVE reach(kind, id) AS (
      SELECT k, i FROM unnest(${kinds}::text[], ${ids}::text[]) AS s(k, i)
      UNION
      SELECT n.kind, n.id FROM reach r, LATERAL (
        SELECT 'start'::text, r.id WHERE r.kind = 'done'
        UNION ALL SELECT 'done', c.id FROM tasks c WHERE r.kind = 'done' AND c.parent_id = r.id
        UNION ALL SELECT 'done', d.depends_on_task_id FROM task_dependencies d WHERE r.kind = 'start' AND d.task_id = r.id
        UNION ALL SELECT 'start', t.parent_id FROM tasks t WHERE r.kind = 'start' AND t.id = r.id AND t.parent_id IS NOT NULL
      ) AS n(kind, id)
    )
    SELECT EXISTS (SELECT 1 FROM reach WHERE kind = ${to.kind} AND id = ${to.id}) AS hit`;
  return row?.hit ?? false;
}

/** Would "task waits for dependsOn" close a cycle? */
export const dependencyWouldCycle = (tx: TxSql, taskId: string, dependsOn: string) =>
  taskId === dependsOn ? Promise.resolve(true) : reaches(tx, [{ kind: 'done', id: dependsOn }], { kind: 'start', id: taskId });

/**
 * Would a new task under `parentId` waiting for `dependsOn` close a cycle? Only through its parent: the new task's
 * done node is required by done(parent) alone, so a cycle exists iff done(parent) is reachable from a dependency.
 */
export const newTaskWouldCycle = (tx: TxSql, parentId: string | null, dependsOn: string[]) =>
  parentId === null ? Promise.resolve(false) : reaches(tx, dependsOn.map((id) => ({ kind: 'done' as const, id })), { kind: 'done', id: parentId });
