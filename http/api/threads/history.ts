import { z } from 'zod';
import type { Sql } from '../../../runtime/db.ts';
import { toIso } from '../../../runtime/ids.ts';
import type { Logger } from '../../../runtime/log.ts';
import {
  ACTIVE_RUN_STATUSES,
  completedSessionIds,
  pendingSessionDiff,
  runsOfThreads,
  runView,
  soft,
  str,
  type PendingSessionDiff,
  type RunJson,
} from './runs-view.ts';
import { MessageSchema, PendingSessionDiffSchema } from './schemas.ts';

/**
 * The run side of `GET /api/threads/:id/history` (spec 8.2): the runs of the thread's whole root-thread tree (a run
 * may spawn child threads whose runs point back at the root), optionally narrowed to the subtree of one root run,
 * each with its artifacts, events and child runs, oldest first, plus the "focus" ids a client resumes from.
 *
 * Bounds the original does not have: at most MAX_RUNS runs (newest) and the last MAX_EVENTS_PER_RUN events of each
 * run; the full event log of a run is `GET /api/runs/:id/events`.
 */
const MAX_RUNS = 500;
const MAX_EVENTS_PER_RUN = 200;

const HistoryEvent = z.object({ id: z.number(), run_id: z.string(), type: z.string(), data: z.string(), created_at: z.string().nullable() });
const HistoryArtifact = z.object({ id: z.string(), run_id: z.string(), type: z.string(), title: z.string().nullable(), file_id: z.string().nullable(), created_at: z.string().nullable() });
const ChildRun = z.object({
  run_id: z.string(),
  thread_id: z.string(),
  child_thread_id: z.string().nullable(),
  status: z.string(),
  agent_type: z.string().nullable(),
  created_at: z.string().nullable(),
  completed_at: z.string().nullable(),
});
const RunNode = z.object({
  run: z.record(z.string(), z.unknown()),
  artifact_count: z.number().int(),
  latest_event_at: z.string().nullable(),
  artifacts: z.array(HistoryArtifact),
  events: z.array(HistoryEvent),
  child_thread_id: z.string().nullable(),
  child_run_count: z.number().int(),
  child_runs: z.array(ChildRun),
});
const Focus = z.object({
  latest_run_id: z.string().nullable(),
  latest_active_run_id: z.string().nullable(),
  latest_failed_run_id: z.string().nullable(),
  latest_completed_run_id: z.string().nullable(),
  resume_run_id: z.string().nullable(),
});
const TaskContext = z.object({ id: z.string(), title: z.string(), status: z.string(), priority: z.string().nullable() }).nullable();

export const HistoryResponse = z.object({
  messages: z.array(MessageSchema),
  total: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
  runs: z.array(RunNode),
  focus: Focus,
  activeRun: z.record(z.string(), z.unknown()).nullable(),
  pendingSessionDiff: PendingSessionDiffSchema,
  taskContext: TaskContext,
});

type Links = Map<string, { parent: string | null; thread: string }>;

/** True when `runId` is `rootRunId` or one of its descendants (walks parents; cycles end the walk). */
function inTree(runId: string, rootRunId: string, links: Links): boolean {
  const seen = new Set<string>();
  for (let cur: string | null = runId; cur && !seen.has(cur); cur = links.get(cur)?.parent ?? null) {
    if (cur === rootRunId) return true;
    seen.add(cur);
  }
  return false;
}

/** For a child thread: its oldest run that was not spawned by another run of the same thread. */
function anchorRun(threadId: string, newestFirst: RunJson[], links: Links): string | null {
  const own = newestFirst.filter((r) => r.thread_id === threadId).reverse();
  const hasAncestorHere = (id: string) => {
    const seen = new Set<string>();
    for (let cur = links.get(id)?.parent ?? null; cur && !seen.has(cur); cur = links.get(cur)?.parent ?? null) {
      seen.add(cur);
      const l = links.get(cur);
      if (!l) return false;
      if (l.thread === threadId) return true;
    }
    return false;
  };
  return (own.find((r) => !hasAncestorHere(String(r.id)))?.id as string | undefined) ?? (own[0]?.id as string | undefined) ?? null;
}

function focusOf(newestFirst: RunJson[]) {
  const find = (p: (s: string) => boolean) => (newestFirst.find((r) => p(String(r.status)))?.id as string | undefined) ?? null;
  const latest = (newestFirst[0]?.id as string | undefined) ?? null;
  const active = find((s) => ACTIVE_RUN_STATUSES.has(s));
  const failed = find((s) => s === 'failed');
  return {
    latest_run_id: latest,
    latest_active_run_id: active,
    latest_failed_run_id: failed,
    latest_completed_run_id: find((s) => s === 'completed'),
    resume_run_id: active ?? failed ?? latest,
  };
}

const iso = (v: unknown) => (typeof v === 'string' || v instanceof Date ? toIso(v) : null);

export async function historyRuns(sql: Sql, log: Logger, threadId: string, rootRunId: string | null) {
  const threadRuns = await soft(log, 'runs', [] as RunJson[], () => runsOfThreads(sql, [threadId], MAX_RUNS));
  const root = str(threadRuns[0]?.root_thread_id) ?? threadId;
  const all =
    root === threadId && threadRuns.length === 0
      ? []
      : await soft(log, 'runs tree', threadRuns, async () =>
          (
            // The root thread's runs and, recursively, the runs they spawned (in whatever thread): walks the
            // thread_id and parent_run_id indexes; UNION drops repeats, so a cycle cannot loop.
            await sql<{ j: RunJson }[]>`
              WITH RECURSIVE tree(id) AS (
                SELECT id FROM runs WHERE thread_id = ${root}
                UNION
                SELECT c.id FROM runs c JOIN tree p ON c.parent_run_id = p.id)
              SELECT to_jsonb(r) AS j FROM runs r JOIN tree USING (id)
              ORDER BY r.created_at DESC, r.id DESC LIMIT ${MAX_RUNS}`
          ).map((r) => r.j),
        );
  const links: Links = new Map(all.map((r) => [String(r.id), { parent: str(r.parent_run_id), thread: String(r.thread_id) }]));
  const scopeRoot = rootRunId || (threadId !== root ? anchorRun(threadId, all, links) : null);
  const runs = scopeRoot ? all.filter((r) => inTree(String(r.id), scopeRoot, links)) : all;
  const ids = runs.map((r) => String(r.id));

  const [artifacts, events, taskContext, pending] = await Promise.all([
    ids.length === 0
      ? []
      : soft(log, 'artifacts', [] as z.infer<typeof HistoryArtifact>[], async () =>
          (
            await sql<{ id: string; run_id: string; type: string; title: string | null; file_id: string | null; created_at: unknown }[]>`
              SELECT id, run_id, type, title, file_id, created_at FROM artifacts WHERE run_id = ANY(${ids}) ORDER BY created_at, id`
          ).map((a) => ({ ...a, created_at: iso(a.created_at) })),
        ),
    ids.length === 0
      ? []
      : soft(log, 'run_events', [] as z.infer<typeof HistoryEvent>[], async () =>
          (
            await sql<{ id: string | number; run_id: string; type: string; data: unknown; created_at: unknown }[]>`
              SELECT id, run_id, type, data, created_at FROM (
                SELECT e.*, row_number() OVER (PARTITION BY e.run_id ORDER BY e.id DESC) AS rn
                FROM run_events e WHERE e.run_id = ANY(${ids})) x
              WHERE rn <= ${MAX_EVENTS_PER_RUN} ORDER BY run_id, id`
          ).map((e) => ({ id: Number(e.id), run_id: e.run_id, type: e.type, data: typeof e.data === 'string' ? e.data : JSON.stringify(e.data ?? {}), created_at: iso(e.created_at) })),
        ),
    taskContextOf(sql, log, threadId),
    pendingSessionDiff(sql, log, completedSessionIds(runs)),
  ]);

  const byRun = <T extends { run_id: string }>(list: T[]) => {
    const m = new Map<string, T[]>();
    for (const x of list) (m.get(x.run_id) ?? m.set(x.run_id, []).get(x.run_id)!).push(x);
    return m;
  };
  const artifactsBy = byRun(artifacts);
  const eventsBy = byRun(events);
  const scoped = new Map(runs.map((r) => [String(r.id), r]));
  const children = new Map<string, z.infer<typeof ChildRun>[]>();
  for (const r of runs) {
    const parent = scoped.get(str(r.parent_run_id) ?? '');
    // A follow-up run in the same thread is not a child; a run in (or spawning) another thread is.
    if (!parent || (r.thread_id === parent.thread_id && !str(r.child_thread_id))) continue;
    const list = children.get(String(parent.id)) ?? [];
    list.push({
      run_id: String(r.id),
      thread_id: String(r.thread_id),
      child_thread_id: str(r.child_thread_id),
      status: String(r.status),
      agent_type: str(r.agent_type),
      created_at: iso(r.created_at),
      completed_at: iso(r.completed_at),
    });
    children.set(String(parent.id), list);
  }

  const nodes = [...runs].reverse().map((r) => {
    const run = runView(r);
    const ev = eventsBy.get(String(r.id)) ?? [];
    const arts = artifactsBy.get(String(r.id)) ?? [];
    const kids = children.get(String(r.id)) ?? [];
    const childThreads = [...new Set(kids.map((k) => k.child_thread_id).filter((x): x is string => !!x))];
    return {
      run,
      artifact_count: arts.length,
      latest_event_at: ev.at(-1)?.created_at ?? (run.completed_at as string | null) ?? (run.started_at as string | null) ?? (run.created_at as string | null) ?? null,
      artifacts: arts,
      events: ev,
      child_thread_id: childThreads.length === 1 ? childThreads[0]! : null,
      child_run_count: kids.length,
      child_runs: kids,
    };
  });
  const active = runs.find((r) => ACTIVE_RUN_STATUSES.has(String(r.status)));
  return {
    runs: nodes,
    focus: focusOf(runs),
    activeRun: active ? runView(active) : null,
    pendingSessionDiff: pending as PendingSessionDiff | null,
    taskContext,
  };
}

/** The agent task working in this thread: the newest one that is still open, else the newest. */
async function taskContextOf(sql: Sql, log: Logger, threadId: string) {
  return soft(log, 'agent_tasks', null as z.infer<typeof TaskContext>, async () => {
    const rows = await sql<{ id: string; title: string; status: string; priority: string | null }[]>`
      SELECT id, title, status, priority FROM agent_tasks WHERE thread_id = ${threadId} ORDER BY updated_at DESC LIMIT 5`;
    return rows.find((r) => r.status !== 'completed' && r.status !== 'cancelled') ?? rows[0] ?? null;
  });
}
