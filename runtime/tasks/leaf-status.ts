import { readiness, short } from './reasons.ts';
import type { Blockers, DerivedStatus, Reason, RefFacts, TaskFacts } from './types.ts';

/**
 * A task without subtasks, from its own facts, first match wins:
 *   cancelled (cancelled_at set) > running (latest run queued/running with a live heartbeat) > done (its branch has
 *   work of its own and is merged into base_branch) > failed (latest run failed, or lost its heartbeat) >
 *   needs_review (latest run completed and the branch has commits not in base_branch) > blocked > ready > open.
 * `done` outranks `failed`: once the work is merged, a later failed attempt does not undo it.
 */
export interface LeafContext {
  branch: string;
  baseBranch: string;
  refs: RefFacts;
  now: number;
  staleMs: number;
}

export interface LeafResult {
  derived: DerivedStatus;
  /** When a live run's heartbeat would go stale (the status may change then with no write); null when none. */
  liveUntil: number | null;
}

const result = (derived: DerivedStatus, liveUntil: number | null = null): LeafResult => ({ derived, liveUntil });

export function leafStatus(t: TaskFacts, b: Blockers, ctx: LeafContext, statuses: Map<string, DerivedStatus>, title: (id: string) => string): LeafResult {
  if (t.cancelledAt) return result({ status: 'cancelled', reasons: [{ code: 'cancelled', message: `cancelled at ${t.cancelledAt.toISOString()}` }] });

  const run = t.latestRun;
  const live = run !== null && (run.status === 'queued' || run.status === 'running');
  const staleAt = live ? run.heartbeatAt + ctx.staleMs : null;
  if (live && staleAt! > ctx.now) {
    return result({ status: 'running', reasons: [{ code: `run_${run.status}`, run_id: run.id, message: `run ${run.id} is ${run.status}` }] }, staleAt);
  }

  const { refs, branch, baseBranch } = ctx;
  const tip = refs.tips.get(branch) ?? null;
  // A branch still at its fork point holds no work of this task: being "merged" then means nothing.
  const hasWork = tip !== null && tip !== t.forkSha;
  if (hasWork && refs.merged.has(branch)) {
    return result({ status: 'done', reasons: [{ code: 'branch_merged', message: `branch ${branch} (${short(tip)}) is merged into ${baseBranch}` }] });
  }

  if (run && (run.status === 'failed' || live)) {
    const reason: Reason = live
      ? { code: 'run_lost', run_id: run.id, message: `run ${run.id} stopped reporting (no heartbeat for ${Math.round(ctx.staleMs / 1000)} s); its process was lost` }
      : { code: 'run_failed', run_id: run.id, message: `run ${run.id} failed${run.error ? `: ${run.error}` : ''}` };
    return result({ status: 'failed', reasons: [reason] });
  }

  const extra: Reason[] = [];
  if (!refs.available) extra.push({ code: 'repository_unavailable', message: `the repository could not be read: ${refs.error ?? 'unknown error'}` });
  if (run?.status === 'completed') {
    if (hasWork) {
      return result({ status: 'needs_review', reasons: [{ code: 'unmerged_commits', run_id: run.id, message: `branch ${branch} (${short(tip)}) has commits not yet in ${baseBranch}` }] });
    }
    if (refs.available) {
      extra.push(
        tip === null
          ? { code: 'branch_missing', run_id: run.id, message: `run ${run.id} completed but branch ${branch} no longer exists` }
          : { code: 'run_made_no_commits', run_id: run.id, message: `run ${run.id} completed without committing anything` },
      );
    }
  } else if (run?.status === 'cancelled') {
    extra.push({ code: 'run_cancelled', run_id: run.id, message: `run ${run.id} was cancelled` });
  }
  return result(readiness(b, statuses, title, extra));
}
