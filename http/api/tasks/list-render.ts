import type { BoardSnapshot } from '../../../runtime/tasks/board.ts';
import type { BoardTaskRow } from '../../../runtime/tasks/board-queries.ts';
import type { DerivedStatus, Reason, TaskStatus } from '../../../runtime/tasks/types.ts';
import { taskJsonOpen } from './views.ts';

/**
 * GET /api/projects/:projectId/tasks, rendered straight to JSON text and cached on the board snapshot (so it lives
 * exactly as long as the statuses it shows). Each task's JSON is rendered once per snapshot and spliced into every
 * list that shows it.
 *
 * Which tasks are listed: those matching `status` and `parent_id` (absent: any depth; `null`: top level; an id: that
 * task's subtasks). With include_children (default), every listed task carries its whole subtree in `children`
 * (unfiltered), and a matching task whose ancestor is listed too appears only inside that ancestor, never twice: so
 * with no filter the answer is the project's task tree. Without include_children the list is flat and has no
 * `children` fields. Order: creation order, at every level.
 */
export interface ListFilter {
  status?: TaskStatus | undefined;
  parentId?: string | null | undefined;
  includeChildren: boolean;
}

const MAX_CACHED_LISTS = 16;

/**
 * Rendered pieces kept from one snapshot to the next, keyed by the task's row object: the Board keeps the same row
 * objects until the project's data changes (board.ts), so after a change of refs only (a merge, a run's commit: the
 * common cold case) every task whose derived status is unchanged keeps its JSON fragment, and every subtree made
 * only of unchanged tasks keeps its rendered text. Measured with bench:tasks --profile (5,000 tasks, re-derived after
 * each ref change): rendering every fragment and subtree anew was ~15 ms of CPU and most of the garbage the collector
 * then spent a third of the request on.
 */
interface Piece {
  derived: DerivedStatus | undefined;
  fragment: string;
  /** `fragment` + `"children":[...]}` of the whole subtree, when rendered (include_children lists only). */
  subtree: string | null;
}
const pieces = new WeakMap<BoardTaskRow, Piece>();

const sameReasons = (a: Reason[], b: Reason[]) =>
  a.length === b.length && a.every((r, i) => r.code === b[i]!.code && r.message === b[i]!.message && r.task_id === b[i]!.task_id && r.run_id === b[i]!.run_id);
const sameStatus = (a: DerivedStatus | undefined, b: DerivedStatus | undefined) =>
  a === b || (a !== undefined && b !== undefined && a.status === b.status && sameReasons(a.reasons, b.reasons));

interface Rendered {
  /** Per task id: its piece, and whether that piece was rebuilt for this snapshot. */
  byId: Map<string, { piece: Piece; fresh: boolean }>;
}

function renderedPieces(snap: BoardSnapshot): Rendered {
  let r = snap.extras.get('pieces') as Rendered | undefined;
  if (r) return r;
  r = { byId: new Map() };
  for (const t of snap.tasks) {
    const derived = snap.statuses.get(t.id);
    const prev = pieces.get(t);
    if (prev && sameStatus(prev.derived, derived)) {
      r.byId.set(t.id, { piece: prev, fresh: false });
      continue;
    }
    const piece: Piece = { derived, fragment: taskJsonOpen(snap, t), subtree: null };
    pieces.set(t, piece);
    r.byId.set(t.id, { piece, fresh: true });
  }
  // A subtree text holds its descendants' fragments: one that changed makes every ancestor's text stale, even if
  // this snapshot never renders the tree (a flat or filtered list only builds fragments).
  for (const [id, e] of r.byId) {
    if (!e.fresh) continue;
    for (let p = snap.byId.get(id)?.parent_id ?? null; p !== null; p = snap.byId.get(p)?.parent_id ?? null) {
      const anc = r.byId.get(p);
      if (!anc || anc.piece.subtree === null) break;
      anc.piece.subtree = null;
    }
  }
  snap.extras.set('pieces', r);
  return r;
}

/** The list body for `f`, as UTF-8 bytes (encoded once per snapshot and filter, not per request). */
export function renderTaskList(snap: BoardSnapshot, f: ListFilter): Buffer {
  const cacheKey = `list|${f.status ?? ''}|${f.parentId === undefined ? '*' : (f.parentId ?? 'null')}|${f.includeChildren ? 1 : 0}`;
  const cached = snap.extras.get(cacheKey);
  if (Buffer.isBuffer(cached)) return cached;

  const rendered = renderedPieces(snap);
  const matches = snap.tasks.filter((t) => {
    if (f.parentId !== undefined && t.parent_id !== f.parentId) return false;
    if (f.status !== undefined && snap.statuses.get(t.id)?.status !== f.status) return false;
    return true;
  });
  let listed = matches;
  if (f.includeChildren && f.parentId === undefined) {
    const ids = new Set(matches.map((t) => t.id));
    listed = matches.filter((t) => {
      for (let p = t.parent_id; p !== null; p = snap.byId.get(p)?.parent_id ?? null) if (ids.has(p)) return false;
      return true;
    });
  }
  // A subtree's text is reused when neither its root nor any task below it was re-rendered for this snapshot (the
  // children lists are the rows', so they are unchanged too).
  const withChildren = (id: string): { text: string; fresh: boolean } => {
    const own = rendered.byId.get(id)!;
    const kids = snap.children.get(id);
    let fresh = own.fresh;
    const parts: string[] = [];
    if (kids) {
      for (const k of kids) {
        const c = withChildren(k);
        fresh ||= c.fresh;
        parts.push(c.text);
      }
    }
    if (!fresh && own.piece.subtree !== null) return { text: own.piece.subtree, fresh: false };
    const text = `${own.piece.fragment},"children":[${parts.join(',')}]}`;
    own.piece.subtree = text;
    return { text, fresh: true };
  };
  const body = listed.map((t) => (f.includeChildren ? withChildren(t.id).text : `${rendered.byId.get(t.id)!.piece.fragment}}`)).join(',');
  const out = Buffer.from(`{"tasks":[${body}]}`);
  if (snap.extras.size < MAX_CACHED_LISTS) snap.extras.set(cacheKey, out);
  return out;
}
