import { blockerReasons, childReasons } from './reasons.ts';
import type { Blockers, DerivedStatus, TaskFacts, TaskStatus } from './types.ts';

/**
 * A task with subtasks summarises them (its own runs and branch are not consulted), first match wins, cancelled
 * subtasks left out:
 *   cancelled (its own cancelled_at, or every subtask cancelled) > done (every subtask done) > running (any) >
 *   failed (any) > needs_review (any) > blocked (its own or inherited dependencies not done) > ready (any subtask
 *   ready) > open (any open) > blocked (what is left: subtasks blocked, next to done ones).
 */
type Kid = { id: string; title: string; status: TaskStatus };

export function parentStatus(t: TaskFacts, kids: Kid[], b: Blockers, statuses: Map<string, DerivedStatus>, title: (id: string) => string): DerivedStatus {
  if (t.cancelledAt) return { status: 'cancelled', reasons: [{ code: 'cancelled', message: `cancelled at ${t.cancelledAt.toISOString()}` }] };
  const live = kids.filter((k) => k.status !== 'cancelled');
  if (live.length === 0) return { status: 'cancelled', reasons: [{ code: 'all_subtasks_cancelled', message: `all ${kids.length} subtasks are cancelled` }] };
  if (live.every((k) => k.status === 'done')) {
    return { status: 'done', reasons: [{ code: 'all_subtasks_done', message: `all ${live.length} subtasks are done` }] };
  }
  const any = (s: TaskStatus) => live.some((k) => k.status === s);
  if (any('running')) return { status: 'running', reasons: childReasons('subtask_running', live, 'running', 'is running') };
  if (any('failed')) return { status: 'failed', reasons: childReasons('subtask_failed', live, 'failed', 'failed') };
  if (any('needs_review')) return { status: 'needs_review', reasons: childReasons('subtask_needs_review', live, 'needs_review', 'needs review') };
  if (b.list.length > 0) return { status: 'blocked', reasons: blockerReasons(b, statuses, title) };
  if (any('ready')) return { status: 'ready', reasons: childReasons('subtask_ready', live, 'ready', 'is ready') };
  if (any('open')) return { status: 'open', reasons: childReasons('subtask_open', live, 'open', 'is open') };
  return { status: 'blocked', reasons: childReasons('subtask_blocked', live, 'blocked', 'is blocked') };
}
