import { Queue, type ConnectionOptions } from 'bullmq';

/**
 * The `runs` BullMQ queue. One job per attempt series of a run; the job id is the run id (a second enqueue of the
 * same run is a no-op), or `<run id>:r<n>` when stale-run recovery puts a run back on the queue.
 *
 * Retries: 3 attempts, exponential backoff from 2 s. A job whose attempts are spent reaches the dead-letter path
 * (workers/runs/worker.ts), which fails the run with the last error as the reason.
 */
export const RUNS_QUEUE = 'runs';

export interface RunJobData {
  runId: string;
  model: string | null;
}

export const RUN_JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'exponential' as const, delay: 2_000 },
  removeOnComplete: { count: 1_000 },
  removeOnFail: { count: 5_000 },
};

export function createRunsQueue(connection: ConnectionOptions, prefix: string): Queue<RunJobData> {
  return new Queue<RunJobData>(RUNS_QUEUE, { connection, prefix, defaultJobOptions: RUN_JOB_OPTIONS });
}
