import type { Sql, TxSql } from '../../runtime/db.ts';
import type { ActorChange } from '../../runtime/actors/types.ts';
import type { PendingOp, SessionState } from './state.ts';

/**
 * Loading and writing session actors (table runtime_sessions). Heartbeats are by far the most frequent change and
 * touch one column, so a batch writes them with one narrow UPDATE and everything else with one full upsert.
 */
interface Row {
  id: string;
  account_id: string;
  user_account_id: string | null;
  repo_id: string;
  branch: string;
  status: SessionState['status'];
  ended_reason: SessionState['endedReason'];
  base_commit: string | null;
  head_commit: string | null;
  last_heartbeat: Date | null;
  running_since: Date | null;
  pending_op: PendingOp | null;
  status_changed_at: Date;
  heartbeat_timeout_ms: number;
  start_grace_ms: number;
  max_age_ms: string;
  created_at: Date;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export async function loadSession(sql: Sql, id: string): Promise<SessionState> {
  const [r] = await sql<Row[]>`
    SELECT id, account_id, user_account_id, repo_id, branch, status, ended_reason, base_commit, head_commit, last_heartbeat,
           running_since, pending_op, status_changed_at, heartbeat_timeout_ms, start_grace_ms, max_age_ms, created_at
    FROM runtime_sessions WHERE id = ${id}`;
  if (!r) return emptySession(id);
  return {
    id: r.id,
    exists: true,
    spaceId: r.account_id,
    userId: r.user_account_id,
    repoId: r.repo_id,
    branch: r.branch,
    status: r.status,
    endedReason: r.ended_reason,
    baseCommit: r.base_commit,
    headCommit: r.head_commit,
    lastHeartbeat: iso(r.last_heartbeat),
    runningSince: iso(r.running_since),
    pending: r.pending_op,
    statusChangedAt: r.status_changed_at.toISOString(),
    createdAt: r.created_at.toISOString(),
    timing: { heartbeatTimeoutMs: r.heartbeat_timeout_ms, startGraceMs: r.start_grace_ms, maxAgeMs: Number(r.max_age_ms) },
  };
}

export function emptySession(id: string): SessionState {
  return {
    id,
    exists: false,
    spaceId: '',
    userId: null,
    repoId: '',
    branch: '',
    status: 'initializing',
    endedReason: null,
    baseCommit: null,
    headCommit: null,
    lastHeartbeat: null,
    runningSince: null,
    pending: null,
    statusChangedAt: new Date(0).toISOString(),
    createdAt: new Date(0).toISOString(),
    timing: { heartbeatTimeoutMs: 1, startGraceMs: 0, maxAgeMs: 1 },
  };
}

/** Only `lastHeartbeat` differs from the state before the batch. */
function heartbeatOnly(c: ActorChange<SessionState, never>): boolean {
  const a = c.previous;
  const b = c.state;
  return (
    a.exists &&
    a.status === b.status &&
    a.pending === b.pending &&
    a.baseCommit === b.baseCommit &&
    a.headCommit === b.headCommit &&
    a.runningSince === b.runningSince &&
    a.endedReason === b.endedReason &&
    a.statusChangedAt === b.statusChangedAt
  );
}

/**
 * A batch made only of heartbeats commits without waiting for its WAL flush (`synchronous_commit = off` for that
 * transaction alone). What that risks: if the Postgres server itself crashes (not one of our processes), the
 * heartbeats of its last ~0.6 s (3 x wal_writer_delay) may be lost, atomically with their timer moves and command
 * records, so those sessions look up to 0.6 s older than they were against a timeout of minutes, and a runtime beats
 * again within its interval. What it buys: a heartbeat's reply no longer waits for an fsync (the route's latency
 * and, at a given concurrency, its throughput were bound by the disk). Every other transition (start, stop, dead,
 * ...) commits synchronously as before.
 */
export async function persistSessions(tx: TxSql, changes: ReadonlyArray<ActorChange<SessionState, never>>): Promise<unknown> {
  const beats: SessionState[] = [];
  const created: SessionState[] = [];
  const changed: SessionState[] = [];
  for (const c of changes) (!c.previous.exists ? created : heartbeatOnly(c) ? beats : changed).push(c.state);
  const work: Promise<unknown>[] = [];
  if (created.length === 0 && changed.length === 0 && beats.length > 0) work.push(tx`SET LOCAL synchronous_commit = off`);
  // Updates, never upserts, for sessions that exist: a row deleted with its space stays deleted even if its actor
  // (still in memory) takes one more turn.
  if (beats.length > 0) {
    // The hottest statement of the kind (one row per heartbeat): ids ([a-z0-9]) and ISO timestamps contain no comma,
    // so each column travels as one comma-joined text instead of an array postgres.js escapes element by element
    // (array serialisation was ~6% of a web process's CPU under bench:sessions).
    work.push(tx`
      UPDATE runtime_sessions s SET last_heartbeat = u.hb
        FROM unnest(string_to_array(${beats.map((s) => s.id).join(',')}, ','),
                    string_to_array(${beats.map((s) => s.lastHeartbeat).join(',')}, ',')::timestamptz[]) AS u(id, hb)
       WHERE s.id = u.id`);
  }
  if (changed.length > 0) {
    const col = <T>(f: (s: SessionState) => T) => changed.map(f);
    work.push(tx`
      UPDATE runtime_sessions s SET
        status = u.status, ended_reason = u.ended_reason, base_commit = u.base_commit, head_commit = u.head_commit,
        last_heartbeat = u.last_heartbeat, running_since = u.running_since, pending_op = u.pending_op,
        status_changed_at = u.status_changed_at, updated_at = now()
      FROM unnest(${col((s) => s.id)}::text[], ${col((s) => s.status)}::text[], ${col((s) => s.endedReason)}::text[],
                  ${col((s) => s.baseCommit)}::text[], ${col((s) => s.headCommit)}::text[], ${col((s) => s.lastHeartbeat)}::timestamptz[],
                  ${col((s) => s.runningSince)}::timestamptz[], ${col((s) => (s.pending ? JSON.stringify(s.pending) : null))}::text[]::jsonb[],
                  ${col((s) => s.statusChangedAt)}::timestamptz[])
           AS u(id, status, ended_reason, base_commit, head_commit, last_heartbeat, running_since, pending_op, status_changed_at)
      WHERE s.id = u.id`);
  }
  // A batch may hold a session's creation and its next turns: the row is inserted as it stands after all of them.
  for (const s of created) {
    work.push(tx`
      INSERT INTO runtime_sessions (id, account_id, user_account_id, repo_id, branch, status, ended_reason, base_commit, head_commit,
                                    last_heartbeat, running_since, pending_op, status_changed_at, heartbeat_timeout_ms, start_grace_ms,
                                    max_age_ms, created_at, updated_at)
      VALUES (${s.id}, ${s.spaceId}, ${s.userId}, ${s.repoId}, ${s.branch}, ${s.status}, ${s.endedReason}, ${s.baseCommit}, ${s.headCommit},
              ${s.lastHeartbeat}, ${s.runningSince}, ${s.pending ? JSON.stringify(s.pending) : null}::jsonb, ${s.statusChangedAt},
              ${s.timing.heartbeatTimeoutMs}, ${s.timing.startGraceMs}, ${s.timing.maxAgeMs}, ${s.createdAt}, now())`);
  }
  return Promise.all(work);
}
