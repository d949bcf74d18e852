import type { Blockers, DerivedStatus, Reason, TaskStatus } from './types.ts';

/** Reasons shared by leaves and parents: what blocks a task, and whether its dependencies are all done. */
const MAX_LISTED = 20;

export const short = (sha: string) => sha.slice(0, 12);

export function blockerReasons(b: Blockers, statuses: Map<string, DerivedStatus>, title: (id: string) => string): Reason[] {
  const out: Reason[] = [];
  for (const x of b.list.slice(0, MAX_LISTED)) {
    const st = statuses.get(x.dep)?.status ?? 'blocked';
    out.push(
      x.via === null
        ? { code: 'dependency_not_done', task_id: x.dep, message: `depends on "${title(x.dep)}" (${x.dep}), which is ${st}` }
        : { code: 'ancestor_dependency_not_done', task_id: x.dep, message: `parent task ${x.via} depends on "${title(x.dep)}" (${x.dep}), which is ${st}` },
    );
  }
  if (b.list.length > MAX_LISTED) out.push({ code: 'more_dependencies_not_done', message: `and ${b.list.length - MAX_LISTED} more dependencies not done` });
  return out;
}

export function readiness(b: Blockers, statuses: Map<string, DerivedStatus>, title: (id: string) => string, extra: Reason[] = []): DerivedStatus {
  if (b.list.length > 0) return { status: 'blocked', reasons: [...blockerReasons(b, statuses, title), ...extra] };
  if (b.total > 0) return { status: 'ready', reasons: [{ code: 'dependencies_done', message: `all ${b.total} dependencies are done` }, ...extra] };
  return { status: 'open', reasons: [{ code: 'no_dependencies', message: 'no dependencies and no run yet' }, ...extra] };
}

/** One reason per child in `status` (capped), for a parent's summary. */
export function childReasons(code: string, kids: Array<{ id: string; title: string; status: TaskStatus }>, status: TaskStatus, verb: string): Reason[] {
  const matching = kids.filter((k) => k.status === status);
  const out: Reason[] = matching.slice(0, MAX_LISTED).map((k) => ({ code, task_id: k.id, message: `subtask "${k.title}" (${k.id}) ${verb}` }));
  if (matching.length > MAX_LISTED) out.push({ code, message: `and ${matching.length - MAX_LISTED} more subtasks ${verb}` });
  return out;
}
