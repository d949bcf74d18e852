import type { Sql } from '../../../runtime/db.ts';
import { AppError } from '../../../runtime/errors.ts';
import type { EventHistory } from '../../../runtime/streams/types.ts';
import { runKind } from '../../../actors/run/kind.ts';
import type { AppDeps } from '../../deps.ts';
import { readRunEvents } from './queries.ts';
import type { RunRow } from './views.ts';

/** Durable history of run streams (run_events), for resumes the Redis tail cannot answer and for gap filling. */
export const runEventHistory = (sql: Sql): EventHistory => ({ readAfter: (runId, afterId, limit) => readRunEvents(sql, runId, afterId, limit) });

/**
 * Puts a new run on the `runs` queue (job id = run id, so a retried request cannot queue it twice). If the queue
 * cannot take it, the run is failed through its actor (`run.failed` event) and the caller gets 503: the original
 * answered 500 "Failed to queue run".
 */
export async function enqueueRun(deps: AppDeps, run: RunRow): Promise<void> {
  try {
    await deps.queues.runs.add('run', { runId: run.id, model: run.model }, { jobId: run.id });
  } catch (err) {
    deps.log.error({ err, runId: run.id }, 'enqueueing a run failed');
    await deps.actors.send(runKind, run.id, { type: 'dead_letter', error: 'Failed to queue run' }).catch(() => undefined);
    throw new AppError('SERVICE_UNAVAILABLE', 'Failed to queue run', { cause: err });
  }
}

/** Cancels through the run actor (the single writer); the worker hears the `cancelled` event and stops. */
export async function cancelRun(deps: AppDeps, runId: string, by: string): Promise<void> {
  await deps.actors.send(runKind, runId, { type: 'cancel', by });
}
