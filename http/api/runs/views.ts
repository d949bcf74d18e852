import type { z } from 'zod';
import { toIso } from '../../../runtime/ids.ts';
import type { ArtifactSchema, RunSchema } from './schemas.ts';

export const RUN_COLUMNS = [
  'id', 'thread_id', 'account_id', 'session_id', 'parent_run_id', 'child_thread_id', 'root_thread_id', 'root_run_id',
  'agent_type', 'status', 'input', 'output', 'error', 'usage', 'model', 'last_event_id', 'worker_id', 'worker_heartbeat',
  'started_at', 'completed_at', 'created_at',
] as const;

export interface RunRow {
  id: string;
  thread_id: string;
  account_id: string;
  session_id: string | null;
  parent_run_id: string | null;
  child_thread_id: string | null;
  root_thread_id: string;
  root_run_id: string;
  agent_type: string;
  status: z.infer<typeof RunSchema>['status'];
  input: string;
  output: string | null;
  error: string | null;
  usage: string;
  model: string | null;
  last_event_id: number;
  worker_id: string | null;
  worker_heartbeat: Date | null;
  started_at: Date | null;
  completed_at: Date | null;
  created_at: Date;
}

export function runView(r: RunRow): z.infer<typeof RunSchema> {
  const { account_id, worker_heartbeat, started_at, completed_at, created_at, ...rest } = r;
  return {
    ...rest,
    space_id: account_id,
    worker_heartbeat: toIso(worker_heartbeat),
    started_at: toIso(started_at),
    completed_at: toIso(completed_at),
    created_at: toIso(created_at)!,
  };
}

export interface ArtifactRow {
  id: string;
  run_id: string;
  account_id: string;
  type: z.infer<typeof ArtifactSchema>['type'];
  title: string | null;
  content: string | null;
  file_id: string | null;
  metadata: string;
  created_at: Date;
}

export function artifactView(a: ArtifactRow): z.infer<typeof ArtifactSchema> {
  const { account_id, created_at, ...rest } = a;
  return { ...rest, space_id: account_id, created_at: toIso(created_at)! };
}
