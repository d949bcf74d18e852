import type { BoardSnapshot } from '../../../runtime/tasks/board.ts';
import type { BoardTaskRow } from '../../../runtime/tasks/board-queries.ts';
import { sameStatus } from '../../../runtime/tasks/derive.ts';
import type { DerivedStatus, TaskStatus } from '../../../runtime/tasks/types.ts';
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
 * objects while a task's stored fields are unchanged (board.ts), so after a change of refs (a merge, a run's commit:
 * the common cold case) or a write to a few tasks, every task whose derived status is unchanged keeps its JSON
 * fragment, and every subtree made only of unchanged tasks keeps its rendered text (and, for a listed task, its
 * UTF-8 bytes). Measured with bench:tasks --profile (5,000 tasks, re-derived after each ref change): rendering every
 * fragment and subtree anew was ~15 ms of CPU and most of the garbage the collector then spent a third of the
 * request on; walking every task to find the few that changed, and encoding the 2.45 MB answer, another ~10 ms.
 */
interface Piece {
  derived: DerivedStatus | undefined;
  fragment: string;
  /**
   * `fragment` + `"children":[...]}` of the whole subtree, when rendered (include_children lists only); reset to
   * null whenever the task or one below it gets a new piece, so a non-null subtree is always current.
   */
  subtree: string | null;
  /** `subtree` as UTF-8, when it was listed at the top level of an answer. */
  bytes: Buffer | null;
}
const pieces = new WeakMap<BoardTaskRow, Piece>();

/**
 * Per task id, its piece for this snapshot: the pieces that changed since the last snapshot, over that snapshot's
 * own. Copying 5,000 entries per snapshot was ~1.5 ms of a cold request; a chain is flattened into one map past
 * MAX_LAYERS, so a lookup reads at most that many maps.
 */
class Rendered {
  private readonly own = new Map<string, Piece>();
  readonly depth: number;

  constructor(private base: Rendered | null) {
    this.depth = base ? base.depth + 1 : 0;
    if (base && this.depth > MAX_LAYERS) {
      base.copyInto(this.own);
      this.base = null;
      this.depth = 0;
    }
  }

  get(id: string): Piece | undefined {
    return this.own.get(id) ?? this.base?.get(id);
  }

  set(id: string, p: Piece): void {
    this.own.set(id, p);
  }

  private copyInto(into: Map<string, Piece>): void {
    this.base?.copyInto(into);
    for (const [id, p] of this.own) into.set(id, p);
  }
}
const MAX_LAYERS = 8;

function renderedPieces(snap: BoardSnapshot): Rendered {
  let r = snap.extras.get('pieces') as Rendered | undefined;
  if (r) return r;
  const prev = snap.previous;
  // board.ts links a previous snapshot only when it lists the same tasks in the same tree, and names every task whose
  // status or row object differs from it.
  const prevPieces = prev ? (prev.snapshot.extras.get('pieces') as Rendered | undefined) : undefined;
  const fresh: string[] = [];
  if (prev && prevPieces) {
    // A few statuses or rows changed (board.ts says which): start from the last snapshot's pieces.
    r = new Rendered(prevPieces);
    for (const id of prev.changed) {
      const t = snap.byId.get(id);
      if (t !== undefined && piece(snap, t, r)) fresh.push(id);
    }
  } else {
    r = new Rendered(null);
    for (const t of snap.tasks) if (piece(snap, t, r)) fresh.push(t.id);
  }
  // A subtree text holds its descendants' fragments: one that changed makes every ancestor's text stale, even if
  // this snapshot never renders the tree (a flat or filtered list only builds fragments).
  for (const id of fresh) {
    for (let p = snap.byId.get(id)?.parent_id ?? null; p !== null; p = snap.byId.get(p)?.parent_id ?? null) {
      const anc = r.get(p);
      if (!anc || anc.subtree === null) break;
      anc.subtree = null;
      anc.bytes = null;
    }
  }
  snap.extras.set('pieces', r);
  return r;
}

/** Sets `t`'s piece for this snapshot in `into`; true when it is a new one. */
function piece(snap: BoardSnapshot, t: BoardTaskRow, into: Rendered): boolean {
  const derived = snap.statuses.get(t.id);
  const prev = pieces.get(t);
  if (prev && (prev.derived === derived || (prev.derived !== undefined && derived !== undefined && sameStatus(prev.derived, derived)))) {
    into.set(t.id, prev);
    return false;
  }
  const p: Piece = { derived, fragment: taskJsonOpen(snap, t), subtree: null, bytes: null };
  pieces.set(t, p);
  into.set(t.id, p);
  return true;
}

/** The list body for `f`, as UTF-8 bytes (encoded once per snapshot and filter, not per request). */
export function renderTaskList(snap: BoardSnapshot, f: ListFilter): Buffer {
  const cacheKey = `list|${f.status ?? ''}|${f.parentId === undefined ? '*' : (f.parentId ?? 'null')}|${f.includeChildren ? 1 : 0}`;
  const cached = snap.extras.get(cacheKey);
  if (Buffer.isBuffer(cached)) return cached;

  const rendered = renderedPieces(snap);
  let listed: BoardTaskRow[];
  if (f.includeChildren && f.status === undefined && (f.parentId === undefined || f.parentId === null)) {
    // The whole tree: the top-level tasks, each with its subtree.
    listed = snap.tasks.filter((t) => t.parent_id === null);
  } else {
    const matches = snap.tasks.filter((t) => {
      if (f.parentId !== undefined && t.parent_id !== f.parentId) return false;
      if (f.status !== undefined && snap.statuses.get(t.id)?.status !== f.status) return false;
      return true;
    });
    listed = matches;
    if (f.includeChildren && f.parentId === undefined) {
      const ids = new Set(matches.map((t) => t.id));
      listed = matches.filter((t) => {
        for (let p = t.parent_id; p !== null; p = snap.byId.get(p)?.parent_id ?? null) if (ids.has(p)) return false;
        return true;
      });
    }
  }
  // A non-null subtree is current (renderedPieces resets it whenever something below changes), so only the
  // branches that hold a change are walked.
  const withChildren = (id: string): string => {
    const own = rendered.get(id)!;
    if (own.subtree !== null) return own.subtree;
    const kids = snap.children.get(id);
    const parts: string[] = [];
    if (kids) for (const k of kids) parts.push(withChildren(k));
    own.subtree = `${own.fragment},"children":[${parts.join(',')}]}`;
    return own.subtree;
  };
  let out: Buffer;
  if (f.includeChildren) {
    // Unchanged listed subtrees keep their bytes: the answer is then mostly a copy, not a 2.45 MB UTF-8 encoding.
    const chunks: Buffer[] = [OPEN];
    for (let i = 0; i < listed.length; i++) {
      if (i > 0) chunks.push(COMMA);
      const own = rendered.get(listed[i]!.id)!;
      if (own.subtree === null || own.bytes === null) own.bytes = Buffer.from(withChildren(listed[i]!.id));
      chunks.push(own.bytes);
    }
    chunks.push(CLOSE);
    out = Buffer.concat(chunks);
  } else {
    out = Buffer.from(`{"tasks":[${listed.map((t) => `${rendered.get(t.id)!.fragment}}`).join(',')}]}`);
  }
  if (snap.extras.size < MAX_CACHED_LISTS) snap.extras.set(cacheKey, out);
  return out;
}

const OPEN = Buffer.from('{"tasks":[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']}');
