import type { RunStatus } from './types.ts';

/** A task_runs row as the API and the executor read it. */
export interface TaskRunRow {
  id: string;
  task_id: string;
  status: RunStatus;
  agent: string;
  branch: string;
  base_sha: string | null;
  head_sha: string | null;
  write_scope: string[];
  committed_files: string[];
  rejected_files: Array<{ path: string; reason: string }>;
  error: string | null;
  heartbeat_at: Date;
  created_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
}

export const RUN_COLS =
  'r.id, r.task_id, r.status, r.agent, r.branch, r.base_sha, r.head_sha, r.write_scope, r.committed_files, r.rejected_files, r.error, r.heartbeat_at, r.created_at, r.started_at, r.completed_at';
