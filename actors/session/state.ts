/**
 * The runtime session's state machine (spec 5.1), enforced by the session actor and nowhere else:
 *
 *   (POST /api/spaces/:id/sessions) --create------------> initializing   timer `deadline` = now + init timeout
 *   initializing --initialized (working copy built)------> running        timers `deadline` (start grace), `max_age`
 *   initializing --init_failed / timer `deadline`--------> failed         ended_reason init_error / init_timeout
 *   running  --heartbeat--------------------------------> running        last_heartbeat; `deadline` moved
 *   running  --timer `deadline` (no heartbeat in time)--> dead           ended_reason heartbeat_timeout
 *   running  --timer `max_age` / heartbeat past max age-> dead           ended_reason max_age
 *   running  --begin stop .. complete (one commit)------> stopped        `deadline` cleared
 *   stopped  --begin resume .. complete (re-opened)-----> running        start grace again
 *   any but merged --discard----------------------------> discarded      every timer cleared
 *
 * `merged` exists in the table for compatibility and is never entered. dead, failed and discarded are final.
 *
 * Deadlines are durable actor timers (rows written in the same transaction as the turn that moves them), so a
 * session is declared dead by its partition owner within one timer poll of its deadline, on whichever process owns
 * it then, and never by a read: the health endpoint only reports. The deadline of a running session is
 * max(running_since + start grace, last_heartbeat + timeout), the original's health rule.
 *
 * Stop and resume do file work (building or committing a working copy) that must not run inside a turn. They are
 * two turns around that work: `begin` marks the session busy (a second stop, a resume or a discard meanwhile gets
 * 409) and sets timer `op`; `complete` applies the outcome; `abort` clears the mark when the work failed. If the
 * process doing the work dies, timer `op` clears the mark so the session is not stuck busy.
 */
export type SessionStatus = 'initializing' | 'running' | 'stopped' | 'merged' | 'discarded' | 'dead' | 'failed';
export const FINAL: ReadonlySet<SessionStatus> = new Set(['discarded', 'dead', 'failed', 'merged']);

export type EndedReason = 'heartbeat_timeout' | 'max_age' | 'init_timeout' | 'init_error';

export interface SessionTiming {
  heartbeatTimeoutMs: number;
  startGraceMs: number;
  maxAgeMs: number;
}

export interface PendingOp {
  op: 'stop' | 'resume';
  opId: string;
  /** ISO times the operation began and by when its work must be done (timer `op`). */
  at: string;
  until: string;
}

export interface SessionState {
  id: string;
  exists: boolean;
  spaceId: string;
  userId: string | null;
  repoId: string;
  branch: string;
  status: SessionStatus;
  endedReason: EndedReason | null;
  baseCommit: string | null;
  headCommit: string | null;
  lastHeartbeat: string | null;
  runningSince: string | null;
  statusChangedAt: string;
  createdAt: string;
  timing: SessionTiming;
  /** A stop or resume whose file work is in progress (column pending_op). */
  pending: PendingOp | null;
}

export type SessionCommand =
  | { type: 'create'; spaceId: string; userId: string; repoId: string; branch: string; timing: SessionTiming; initTimeoutMs: number }
  | { type: 'initialized'; baseCommit: string }
  | { type: 'init_failed'; error: string }
  | { type: 'heartbeat'; userId: string; spaceId: string | null }
  | { type: 'begin'; op: 'stop' | 'resume'; opId: string; opTimeoutMs: number }
  | { type: 'complete'; opId: string; baseCommit?: string | null; headCommit?: string | null }
  | { type: 'abort'; opId: string }
  | { type: 'discard' }
  | { type: 'get' };

export interface SessionView {
  id: string;
  status: SessionStatus;
  spaceId: string;
  repoId: string;
  branch: string;
  baseCommit: string | null;
  headCommit: string | null;
  lastHeartbeat: string | null;
  createdAt: string;
  endedReason: EndedReason | null;
}

export type SessionReply =
  /** `session` is left out of heartbeat replies: the hot path needs only the time it was recorded. */
  | { ok: true; session?: SessionView; timestamp: string }
  /** The turn changed state and still refuses the caller (a heartbeat past the maximum age marks the session dead). */
  | { ok: false; code: 'expired' };

/** When a running session is due to be declared dead: the later of the start grace and the heartbeat timeout. */
export function heartbeatDeadline(s: Pick<SessionState, 'runningSince' | 'lastHeartbeat' | 'timing' | 'createdAt'>): number {
  const since = Date.parse(s.runningSince ?? s.createdAt);
  const grace = since + s.timing.startGraceMs;
  const beat = s.lastHeartbeat ? Date.parse(s.lastHeartbeat) + s.timing.heartbeatTimeoutMs : -Infinity;
  return Math.max(grace, beat);
}

export const maxAgeAt = (s: Pick<SessionState, 'createdAt' | 'timing'>): number => Date.parse(s.createdAt) + s.timing.maxAgeMs;

export const viewOf = (s: SessionState): SessionView => ({
  id: s.id,
  status: s.status,
  spaceId: s.spaceId,
  repoId: s.repoId,
  branch: s.branch,
  baseCommit: s.baseCommit,
  headCommit: s.headCommit,
  lastHeartbeat: s.lastHeartbeat,
  createdAt: s.createdAt,
  endedReason: s.endedReason,
});
