import { Worker, type Job } from 'bullmq';
import { runKind } from '../../actors/run/kind.ts';
import type { AppDeps } from '../../http/deps.ts';
import { createModelClient, loadModelConfig, selectModel, type ModelConfig } from './model/index.ts';
import { executeRun, type RunnerDeps } from './processor.ts';
import { RUNS_QUEUE, type RunJobData } from './queue.ts';
import { loadSpaceEnv } from '../../runtime/secrets/space-env.ts';

/**
 * The `runs` worker kind: BullMQ consumer of the runs queue.
 *
 * - Lock renewal: BullMQ renews a job's lock from this process's event loop; the model call is I/O-bound, so the
 *   loop stays free (no long CPU work happens here). lockDuration 10 s, stalled check every 5 s: a worker killed with
 *   SIGKILL has its job re-delivered within ~15 s, and the run actor's `stale` timer re-queues the run if the job was
 *   lost altogether.
 * - Retries: a retryable model error releases the run and rethrows; BullMQ retries with exponential backoff.
 * - Dead letter: when a job's attempts are spent (or it stalled too often), the run is failed through its actor with
 *   the last error as the reason (`run.failed`, `permanent: true`).
 * - Shutdown: `close()` stops taking jobs and waits for the running ones (a run in progress finishes its attempt).
 */
export interface RunsWorkerOptions {
  concurrency?: number;
  staleAfterMs?: number;
  heartbeatMs?: number;
  deadlineMs?: number;
  env?: Record<string, string | undefined>;
}

export function startRunsWorker(deps: AppDeps, opts: RunsWorkerOptions = {}): Worker<RunJobData> {
  const modelConfig: ModelConfig = loadModelConfig(opts.env ?? process.env);
  const runner: RunnerDeps = {
    sql: deps.sql,
    hub: deps.streams.hub,
    log: deps.log,
    send: (runId, cmd) => deps.actors.send(runKind, runId, cmd),
    async selectModel({ spaceId, requestedModel }) {
      const [space] = await deps.sql<{ ai_provider: string; ai_model: string }[]>`SELECT ai_provider, ai_model FROM accounts WHERE id = ${spaceId}`;
      const sel = selectModel({ requestedModel, spaceProvider: space?.ai_provider ?? null, spaceModel: space?.ai_model ?? null, config: modelConfig, commonEnv: await loadSpaceEnv(deps.sql, deps.envCipher, spaceId, deps.log) });
      return { client: createModelClient(sel, modelConfig), model: sel.model, ...(sel.note ? { note: sel.note } : {}) };
    },
    staleAfterMs: opts.staleAfterMs ?? 15_000,
    heartbeatMs: opts.heartbeatMs ?? 5_000,
    deadlineMs: opts.deadlineMs ?? 15 * 60_000,
    modelTimeoutMs: modelConfig.timeoutMs,
  };
  const worker = new Worker<RunJobData>(
    RUNS_QUEUE,
    async (job: Job<RunJobData>) => executeRun(runner, job.data.runId, `${deps.actors.id}:${job.id}:${job.attemptsMade + 1}`),
    {
      connection: deps.redis.blocking('bullmq-worker-runs'),
      prefix: deps.keys.bullPrefix,
      concurrency: opts.concurrency ?? 20,
      lockDuration: 10_000,
      stalledInterval: 5_000,
      maxStalledCount: 2,
    },
  );
  worker.on('failed', (job, err) => {
    if (!job) return;
    const spent = job.attemptsMade >= (job.opts.attempts ?? 1) || /stalled/i.test(err.message);
    if (!spent) return;
    deps.actors.send(runKind, job.data.runId, { type: 'dead_letter', error: err.message }).catch((e: unknown) => deps.log.error({ err: e, runId: job.data.runId }, 'dead-lettering a run failed'));
  });
  worker.on('error', (err) => deps.log.warn({ err }, 'runs worker error'));
  return worker;
}
