import type { Sql, TxSql } from '../../../runtime/db.ts';
import { AppError, badRequest, notFound, rateLimited } from '../../../runtime/errors.ts';
import { newId, OPAQUE_ID } from '../../../runtime/ids.ts';
import type { StreamEvent } from '../../../runtime/streams/types.ts';
import { ALL, atLeast, type Role } from '../spaces/access.ts';
import { RUN_COLUMNS, type ArtifactRow, type RunRow } from './views.ts';

const cols = (sql: Sql | TxSql, alias: string) => sql.unsafe(RUN_COLUMNS.map((c) => `${alias}.${c}`).join(', '));

/** The run and the caller's role in its space; 404 "Run not found" when missing, not a member, or below `min` (spec 2.5). */
export async function requireRun(sql: Sql | TxSql, userId: string, runId: string, min: Role = ALL): Promise<{ run: RunRow; role: Role }> {
  const [row] = await sql<(RunRow & { role: Role })[]>`
    SELECT ${cols(sql, 'r')}, m.role
    FROM runs r
    JOIN accounts a ON a.id = r.account_id AND a.status = 'active'
    JOIN account_memberships m ON m.account_id = r.account_id AND m.member_id = ${userId} AND m.status = 'active'
    WHERE r.id = ${runId}`;
  if (!row || !atLeast(row.role, min)) throw notFound('Run');
  const { role, ...run } = row;
  return { run, role };
}

/** Rate limits of spec 1.5 / 3.3, counted in Postgres so they hold across every process. */
export const LIMITS = {
  top: { perMinute: 30, perHour: 500, concurrent: 20, label: 'Rate limit exceeded', concurrentLabel: 'Too many concurrent runs' },
  child: { perMinute: 20, perHour: 250, concurrent: 12, label: 'Child run rate limit exceeded', concurrentLabel: 'Too many concurrent child runs' },
} as const;

export interface NewRun {
  threadId: string;
  spaceId: string;
  requesterId: string;
  agentType: string;
  input: Record<string, unknown>;
  parentRunId: string | null;
  model: string | null;
}

const MAX_DEPTH = 5;

/**
 * Creates a run in one transaction: hierarchy checks, the three rate limits, the insert. Two advisory locks
 * (requester, then space: always in that order, so two creators never deadlock) serialise concurrent creates of
 * the same requester and space, so the counts cannot be raced past the limits by parallel requests on different
 * processes.
 */
export async function createRun(sql: Sql, n: NewRun): Promise<RunRow> {
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtextextended(${'run-requester:' + n.requesterId}, 0))`;
    await tx`SELECT pg_advisory_xact_lock(hashtextextended(${'run-space:' + n.spaceId}, 0))`;
    let parent: { id: string; thread_id: string; account_id: string; root_thread_id: string; root_run_id: string; depth: number } | undefined;
    if (n.parentRunId !== null) {
      if (!OPAQUE_ID.test(n.parentRunId)) throw badRequest('Invalid parent_run_id');
      [parent] = await tx<NonNullable<typeof parent>[]>`
        SELECT id, thread_id, account_id, root_thread_id, root_run_id, depth FROM runs WHERE id = ${n.parentRunId}`;
      if (!parent || parent.account_id !== n.spaceId) throw badRequest('Parent run not found in this space');
      if (parent.depth + 1 > MAX_DEPTH) throw badRequest(`Run nesting depth exceeds ${MAX_DEPTH}`);
    }
    const lim = parent ? LIMITS.child : LIMITS.top;
    const childOnly = parent ? tx`AND parent_run_id IS NOT NULL` : tx``;
    const [counts] = await tx<{ minute: number; hour: number; oldest_min: Date | null; oldest_hour: Date | null }[]>`
      SELECT count(*) FILTER (WHERE created_at > now() - interval '1 minute')::int AS minute,
             count(*)::int AS hour,
             min(created_at) FILTER (WHERE created_at > now() - interval '1 minute') AS oldest_min,
             min(created_at) AS oldest_hour
      FROM runs WHERE requester_account_id = ${n.requesterId} AND created_at > now() - interval '1 hour' ${childOnly}`;
    const now = Date.now();
    if (counts!.minute >= lim.perMinute) {
      throw rateLimited(`${lim.label}: max ${lim.perMinute} runs per minute`, (counts!.oldest_min!.getTime() + 60_000 - now) / 1000);
    }
    if (counts!.hour >= lim.perHour) {
      throw rateLimited(`${lim.label}: max ${lim.perHour} runs per hour`, (counts!.oldest_hour!.getTime() + 3_600_000 - now) / 1000);
    }
    const [active] = await tx<{ n: number }[]>`
      SELECT count(*)::int AS n FROM runs WHERE account_id = ${n.spaceId} AND status IN ('pending', 'queued', 'running') ${childOnly}`;
    if (active!.n >= lim.concurrent) throw rateLimited(`${lim.concurrentLabel}: max ${lim.concurrent} per workspace`, 5);

    const id = newId();
    const [row] = await tx<RunRow[]>`
      INSERT INTO runs (id, thread_id, account_id, requester_account_id, parent_run_id, child_thread_id, root_thread_id, root_run_id,
                        depth, agent_type, status, input, model)
      VALUES (${id}, ${n.threadId}, ${n.spaceId}, ${n.requesterId}, ${parent?.id ?? null},
              ${parent && parent.thread_id !== n.threadId ? n.threadId : null},
              ${parent?.root_thread_id ?? n.threadId}, ${parent?.root_run_id ?? id}, ${parent ? parent.depth + 1 : 0},
              ${n.agentType}, 'queued', ${JSON.stringify(n.input)}, ${n.model})
      RETURNING ${cols(tx, 'runs')}`;
    return row!;
  });
}

/** Decodes the list cursor `<created_at ISO>,<id>` (a bare timestamp is accepted too). */
export function parseCursor(raw: string | undefined): { at: Date; id: string | null } | null {
  if (raw === undefined || raw === '') return null;
  const [ts, id] = raw.split(',', 2);
  const at = new Date(ts ?? '');
  if (Number.isNaN(at.getTime()) || (id !== undefined && !OPAQUE_ID.test(id))) throw badRequest('Invalid cursor');
  return { at, id: id ?? null };
}

export async function listRuns(sql: Sql, threadId: string, opts: { activeOnly: boolean; limit: number; cursor: { at: Date; id: string | null } | null }): Promise<RunRow[]> {
  const c = opts.cursor;
  return sql<RunRow[]>`
    SELECT ${cols(sql, 'r')} FROM runs r
    WHERE r.thread_id = ${threadId}
      ${opts.activeOnly ? sql`AND r.status IN ('pending', 'queued', 'running')` : sql``}
      ${c ? (c.id ? sql`AND (r.created_at, r.id) < (${c.at}, ${c.id})` : sql`AND r.created_at < ${c.at}`) : sql``}
    ORDER BY r.created_at DESC, r.id DESC
    LIMIT ${opts.limit}`;
}

export async function readRunEvents(sql: Sql, runId: string, afterId: number, limit: number): Promise<StreamEvent[]> {
  const rows = await sql<{ id: number; type: string; data: unknown; created_at: Date }[]>`
    SELECT id, type, data, created_at FROM run_events WHERE run_id = ${runId} AND id > ${afterId} ORDER BY id LIMIT ${limit}`;
  return rows.map((r) => ({ id: r.id, type: r.type, data: r.data, created_at: r.created_at.toISOString() }));
}

export async function listArtifacts(sql: Sql, runId: string): Promise<ArtifactRow[]> {
  return sql<ArtifactRow[]>`SELECT * FROM artifacts WHERE run_id = ${runId} ORDER BY created_at, id`;
}

export async function insertArtifact(
  sql: Sql,
  run: RunRow,
  a: { type: ArtifactRow['type']; title?: string | null | undefined; content?: string | null | undefined; file_id?: string | null | undefined; metadata?: Record<string, unknown> | undefined },
): Promise<ArtifactRow> {
  const [row] = await sql<ArtifactRow[]>`
    INSERT INTO artifacts (id, run_id, account_id, type, title, content, file_id, metadata)
    VALUES (${newId()}, ${run.id}, ${run.account_id}, ${a.type}, ${a.title ?? null}, ${a.content ?? null}, ${a.file_id ?? null}, ${JSON.stringify(a.metadata ?? {})})
    RETURNING *`;
  return row!;
}

export async function requireArtifact(sql: Sql, userId: string, id: string): Promise<ArtifactRow> {
  const [row] = await sql<(ArtifactRow & { role: Role })[]>`
    SELECT a.*, m.role FROM artifacts a
    JOIN account_memberships m ON m.account_id = a.account_id AND m.member_id = ${userId} AND m.status = 'active'
    WHERE a.id = ${id}`;
  if (!row) throw notFound('Artifact');
  const { role: _role, ...artifact } = row;
  return artifact;
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;
