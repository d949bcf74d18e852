import type { BoardSnapshot } from '../../../runtime/tasks/board.ts';
import type { TaskStatus } from '../../../runtime/tasks/types.ts';
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

export function renderTaskList(snap: BoardSnapshot, f: ListFilter): string {
  const cacheKey = `list|${f.status ?? ''}|${f.parentId === undefined ? '*' : (f.parentId ?? 'null')}|${f.includeChildren ? 1 : 0}`;
  const cached = snap.extras.get(cacheKey);
  if (typeof cached === 'string') return cached;

  let fragments = snap.extras.get('fragments') as Map<string, string> | undefined;
  if (!fragments) {
    fragments = new Map();
    for (const t of snap.tasks) fragments.set(t.id, taskJsonOpen(snap, t));
    snap.extras.set('fragments', fragments);
  }
  const frags = fragments;

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
  const withChildren = (id: string): string => {
    const kids = snap.children.get(id);
    return `${frags.get(id)},"children":[${kids ? kids.map(withChildren).join(',') : ''}]}`;
  };
  const body = listed.map((t) => (f.includeChildren ? withChildren(t.id) : `${frags.get(t.id)}}`)).join(',');
  const out = `{"tasks":[${body}]}`;
  if ([...snap.extras.keys()].length < MAX_CACHED_LISTS) snap.extras.set(cacheKey, out);
  return out;
}
