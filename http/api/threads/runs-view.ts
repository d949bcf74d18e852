import type { Sql } from '../../../runtime/db.ts';
import { toIso } from '../../../runtime/ids.ts';
import type { Logger } from '../../../runtime/log.ts';

/**
 * What the thread timeline and history show of the runs family's tables (`runs`, `run_events`, `artifacts`), of
 * file-sync `sessions` and of `agent_tasks`. Those tables belong to other families and may not exist in a given
 * build; each read here is an enrichment that fails soft: a missing table (42P01) means "no runs yet" silently,
 * any other error is logged and the field falls back to empty/null, so a schema change elsewhere can never turn a
 * message listing into a 500. Columns read are the spec's (9): runs.id/thread_id/status/created_at/parent_run_id/
 * child_thread_id/root_thread_id/session_id, run_events.run_id/id/type/data/created_at, artifacts.run_id/..., and
 * the whole run row is passed through `runView` (to_jsonb), so new run columns appear without a change here.
 */

export type RunJson = Record<string, unknown>;

const ACTIVE = new Set(['pending', 'queued', 'running']);

async function soft<T>(log: Logger, what: string, fallback: T, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if ((err as { code?: string }).code !== '42P01') log.warn({ err, what }, 'thread view: optional read failed');
    return fallback;
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const isoOrNull = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? (toIso(v) ?? null) : null);

/** The run as the API shows it (the original's `toRun`: space_id, worker_id, root ids defaulted, ISO dates). */
export function runView(j: RunJson): RunJson {
  const out: RunJson = { ...j };
  if ('account_id' in out) {
    out.space_id = out.account_id;
    delete out.account_id;
  }
  if ('service_id' in out) {
    out.worker_id = out.service_id;
    delete out.service_id;
  }
  if ('service_heartbeat' in out) {
    out.worker_heartbeat = out.service_heartbeat;
    delete out.service_heartbeat;
  }
  out.root_thread_id = str(j.root_thread_id) ?? j.thread_id;
  out.root_run_id = str(j.root_run_id) ?? j.id;
  for (const k of ['created_at', 'started_at', 'completed_at', 'worker_heartbeat']) if (k in out) out[k] = isoOrNull(out[k]);
  return out;
}

/** Runs of the given threads, newest first. */
export async function runsOfThreads(sql: Sql, threadIds: string[], limit?: number): Promise<RunJson[]> {
  const rows = await sql<{ j: RunJson }[]>`
    SELECT to_jsonb(r) AS j FROM runs r WHERE r.thread_id = ANY(${threadIds})
    ORDER BY r.created_at DESC, r.id DESC ${limit ? sql`LIMIT ${limit}` : sql``}`;
  return rows.map((r) => r.j);
}

export interface PendingSessionDiff {
  sessionId: string;
  sessionStatus: string;
  git_mode: boolean;
}

/** The first non-discarded session among `sessionIds` (newest run first). */
async function pendingSessionDiff(sql: Sql, log: Logger, sessionIds: string[]): Promise<PendingSessionDiff | null> {
  if (sessionIds.length === 0) return null;
  return soft(log, 'sessions', null, async () => {
    const rows = await sql<{ j: RunJson }[]>`SELECT to_jsonb(s) AS j FROM sessions s WHERE s.id = ANY(${sessionIds})`;
    const byId = new Map(rows.map((r) => [String(r.j.id), r.j]));
    for (const id of sessionIds) {
      const s = byId.get(id);
      if (s && s.status !== 'discarded') return { sessionId: id, sessionStatus: String(s.status), git_mode: !!s.repo_id };
    }
    return null;
  });
}

const completedSessionIds = (runsNewestFirst: RunJson[]) =>
  runsNewestFirst.filter((r) => r.status === 'completed' && str(r.session_id)).map((r) => String(r.session_id));

/**
 * `activeRun` and `pendingSessionDiff` of `GET /api/threads/:id/messages` (spec 8.2): the newest queued/running run
 * among the thread's last 10, and, when none is active, the session of the latest completed run that has one.
 */
export async function timelineRunState(sql: Sql, log: Logger, threadId: string): Promise<{ activeRun: RunJson | null; pendingSessionDiff: PendingSessionDiff | null }> {
  const recent = await soft(log, 'runs', [] as RunJson[], () => runsOfThreads(sql, [threadId], 10));
  const active = recent.find((r) => ACTIVE.has(String(r.status)));
  if (active) return { activeRun: runView(active), pendingSessionDiff: null };
  return { activeRun: null, pendingSessionDiff: await pendingSessionDiff(sql, log, completedSessionIds(recent).slice(0, 1)) };
}

export { ACTIVE as ACTIVE_RUN_STATUSES, pendingSessionDiff, completedSessionIds, soft, str };
