/**
 * The run's state machine (spec 3.2), enforced here and nowhere else:
 *
 *   (created by POST /api/threads/:id/runs)      -> queued
 *   queued   --claim (worker)-------------------> running       lease_version + 1, attempts + 1, started_at
 *   running  --claim by another worker, the holder's heartbeat stale > staleAfterMs--> running (new lease)
 *   running  --release (retryable failure)------> queued        worker cleared; the job is retried with backoff
 *   running  --finish completed / failed--------> completed | failed    (only by the lease holder)
 *   queued | running --dead_letter (retries spent)--> failed     "DLQ: ..." reason
 *   pending | queued | running --cancel---------> cancelled     completed_at; the worker sees the `cancelled` event
 *   running  --timer `deadline` (15 min)--------> failed        "Run exceeded the 15 minute limit"
 *   running  --timer `stale` (heartbeat lost)---> queued        re-enqueued after commit (stale-run recovery)
 *
 * Terminal states (completed, failed, cancelled) accept nothing but reads; a late write from a worker that lost
 * its lease answers 409 "Lease lost" so the worker stops. Every transition emits events with contiguous ids.
 */
export type RunStatus = 'pending' | 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
export const TERMINAL: ReadonlySet<RunStatus> = new Set(['completed', 'failed', 'cancelled']);
export const ACTIVE: readonly RunStatus[] = ['pending', 'queued', 'running'];

export interface RunState {
  id: string;
  exists: boolean;
  thread_id: string;
  account_id: string;
  requester_account_id: string | null;
  session_id: string | null;
  status: RunStatus;
  last_event_id: number;
  output: string | null;
  error: string | null;
  usage: string;
  worker_id: string | null;
  worker_heartbeat: string | null;
  lease_version: number;
  attempts: number;
  started_at: string | null;
  completed_at: string | null;
  /** Set by a turn that needs the run's job enqueued again once the turn is committed (stale recovery). */
  requeue?: boolean;
}

export interface RunEventInput {
  type: string;
  data: Record<string, unknown>;
}

export type RunCommand =
  | { type: 'claim'; workerId: string; staleAfterMs: number; deadlineMs: number }
  | { type: 'heartbeat'; workerId: string; leaseVersion: number; staleAfterMs: number }
  | { type: 'emit'; workerId: string; leaseVersion: number; events: RunEventInput[] }
  | { type: 'release'; workerId: string; leaseVersion: number; error: string }
  | {
      type: 'finish';
      workerId: string;
      leaseVersion: number;
      outcome: 'completed' | 'failed';
      output?: string | null;
      error?: string | null;
      usage?: { inputTokens: number; outputTokens: number } | null;
      /** Final assistant text, written to the thread in the same transaction as the `message` event. */
      message?: string | null;
      details?: Record<string, unknown>;
    }
  | { type: 'cancel'; by: string }
  | { type: 'dead_letter'; error: string };

export type RunReply =
  | { claimed: true; leaseVersion: number; attempt: number }
  | { claimed: false; reason: string; status: RunStatus }
  | { ok: true; lastEventId: number; status: RunStatus };
