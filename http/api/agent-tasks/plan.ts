import type { Sql } from '../../../runtime/db.ts';
import { AppError } from '../../../runtime/errors.ts';
import type { Logger } from '../../../runtime/log.ts';
import type { StreamHub } from '../../../runtime/streams/hub.ts';
import { RUN_KIND } from '../../../actors/run/kind.ts';
import { TERMINAL } from '../../../actors/run/state.ts';
import type { AppDeps } from '../../deps.ts';
import { createRun } from '../runs/queries.ts';
import { cancelRun, enqueueRun } from '../runs/runtime.ts';
import type { RunRow } from '../runs/views.ts';
import { appendMessage, insertThread } from '../threads/queries.ts';
import { planFromRun, planPrompt, type Plan } from './plan-parse.ts';
import type { TaskRow } from './queries.ts';

/**
 * `POST /api/agent-tasks/:id/plan`: a run of the runs machinery produces the plan.
 *
 *   thread (the task's, created when it has none) <- user message: the planning prompt
 *   createRun (agent_type "planner", rate limits as any run) -> task.plan_run_id = last_run_id = run -> enqueueRun
 *   run ends (any process) -> settlePlans: the run's output, parsed, becomes task.plan; plan_run_id cleared
 *
 * Settlement happens in a commit listener of the run actor (wiring.ts) and again on every read of a task whose
 * planning run has ended, so a listener lost to a crash only delays it until the next read.
 */
const TERMINAL_EVENTS = new Set(['completed', 'error', 'cancelled', 'run.failed']);

export async function startPlan(deps: AppDeps, task: TaskRow, userId: string): Promise<RunRow> {
  if (task.plan_run_id) throw new AppError('CONFLICT', 'A plan is already being generated for this task', { details: { run_id: task.plan_run_id } });
  const sql = deps.sql;
  let threadId = task.thread_id;
  const [thread] = threadId ? await sql<{ status: string }[]>`SELECT status FROM threads WHERE id = ${threadId}` : [];
  if (!thread || thread.status === 'deleted') threadId = (await insertThread(sql, task.account_id, { title: task.title, locale: null })).id;

  const run = await createRun(sql, {
    threadId: threadId!,
    spaceId: task.account_id,
    requesterId: userId,
    agentType: 'planner',
    input: { agent_task_id: task.id, purpose: 'plan' },
    parentRunId: null,
    model: task.model,
  });
  try {
    await sql.begin(async (tx) => {
      await appendMessage(tx, threadId!, { role: 'user', content: planPrompt(task), metadata: { agent_task_id: task.id, purpose: 'plan', run_id: run.id } });
      // Compare-and-set: two plan requests racing each other start one planning run, not two.
      const rows = await tx`
        UPDATE agent_tasks SET thread_id = ${threadId}, plan_run_id = ${run.id}, last_run_id = ${run.id}, updated_at = clock_timestamp()
        WHERE id = ${task.id} AND plan_run_id IS NULL RETURNING id`;
      if (rows.length === 0) throw new AppError('CONFLICT', 'A plan is already being generated for this task');
    });
  } catch (err) {
    await cancelRun(deps, run.id, userId).catch(() => undefined);
    throw err;
  }
  await enqueueRun(deps, run);
  return run;
}

/** Writes the plans of ended planning runs (`runIds`: only those; default: every task waiting on an ended run). */
export async function settlePlans(sql: Sql, runIds: string[]): Promise<number> {
  if (runIds.length === 0) return 0;
  const ended = await sql<{ id: string; run_id: string; status: string; output: string | null; error: string | null }[]>`
    SELECT t.id, r.id AS run_id, r.status, r.output, r.error FROM agent_tasks t JOIN runs r ON r.id = t.plan_run_id
    WHERE t.plan_run_id = ANY (${runIds}::text[]) AND r.status IN ('completed', 'failed', 'cancelled')`;
  for (const t of ended) {
    // Only if still waiting on this very run: a concurrent settlement or a PATCHed plan wins.
    await sql`
      UPDATE agent_tasks SET plan = ${JSON.stringify(planFromRun(t))}, plan_run_id = NULL, updated_at = clock_timestamp()
      WHERE id = ${t.id} AND plan_run_id = ${t.run_id}`;
  }
  return ended.length;
}

/** Waits until run `runId` has ended (or `ms` passed); true when it has. */
export async function waitForRun(sql: Sql, hub: StreamHub, runId: string, ms: number): Promise<boolean> {
  if (ms <= 0) return false;
  let finished = false;
  let unsubscribe: (() => void) | null = null;
  try {
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      hub
        .subscribe(RUN_KIND, runId, { onBatch: (b) => (b.events.some((e) => TERMINAL_EVENTS.has(e.type)) ? done() : undefined) })
        .then(async (unsub) => {
          if (finished) return unsub();
          unsubscribe = unsub;
          // It may have ended before the subscription was in place.
          const [r] = await sql<{ status: string }[]>`SELECT status FROM runs WHERE id = ${runId}`;
          if (!r || TERMINAL.has(r.status as never)) done();
        })
        .catch(() => resolve(false));
    });
  } finally {
    finished = true;
    (unsubscribe as (() => void) | null)?.();
  }
}

/** The commit listener body: settles the plans of runs that a batch ended. */
export async function settleEndedRuns(sql: Sql, log: Logger, actors: Array<{ id: string; state: unknown }>): Promise<void> {
  const ended = actors.filter((a) => TERMINAL.has((a.state as { status: never }).status)).map((a) => a.id);
  if (ended.length === 0) return;
  await settlePlans(sql, ended).catch((err: unknown) => log.warn({ err, runs: ended }, 'settling agent-task plans failed'));
}

export type { Plan };
