import type { z } from 'zod';
import type { TaskReadRow } from './queries.ts';
import type { TaskSchema } from './schemas.ts';

/** The API object of spec 11 (plus plan_status / plan_run_id for the planning run this server adds). */
type TaskView = z.infer<typeof TaskSchema>;

const iso = (v: Date | string | null | undefined): string | null => (v == null ? null : new Date(v).toISOString());

export function taskView(t: TaskReadRow): TaskView {
  const lr = t.latest_run;
  return {
    id: t.id,
    space_id: t.account_id,
    created_by: t.created_by_account_id,
    thread_id: t.thread_id,
    last_run_id: t.last_run_id,
    title: t.title,
    description: t.description,
    status: t.status,
    priority: t.priority,
    agent_type: t.agent_type,
    model: t.model,
    plan: t.plan,
    plan_status: t.plan_run_id ? 'pending' : t.plan !== null ? 'ready' : 'none',
    plan_run_id: t.plan_run_id,
    due_at: iso(t.due_at),
    started_at: iso(t.started_at),
    completed_at: iso(t.completed_at),
    created_at: iso(t.created_at)!,
    updated_at: iso(t.updated_at)!,
    thread_title: t.thread_title,
    latest_run: lr
      ? {
          run_id: lr.id,
          status: lr.status,
          agent_type: lr.agent_type,
          started_at: iso(lr.started_at),
          completed_at: iso(lr.completed_at),
          created_at: iso(lr.created_at)!,
          error: lr.error,
          artifact_count: Number(lr.artifact_count),
        }
      : null,
    resume_target: t.thread_id ? { thread_id: t.thread_id, run_id: t.resume_run?.id ?? null, reason: t.resume_run?.reason ?? 'thread' } : null,
  };
}
