import type { Sql, TxSql } from '../../runtime/db.ts';
import { badRequest, conflict, forbidden, notFound } from '../../runtime/errors.ts';
import type { ActorKind, FiredTimer, TurnContext, TurnResult } from '../../runtime/actors/types.ts';
import { loadSession, persistSessions } from './store.ts';
import {
  FINAL,
  heartbeatDeadline,
  maxAgeAt,
  viewOf,
  type EndedReason,
  type SessionCommand,
  type SessionReply,
  type SessionState,
  type SessionStatus,
} from './state.ts';

/**
 * The session actor: the single writer of a runtime session's status, heartbeats and deadlines (state machine in
 * state.ts). A turn only computes; `persist` (store.ts) writes the rows of a batch in one transaction together with
 * the timers the turns moved.
 */
export const SESSION_KIND = 'session';

type Result = TurnResult<SessionState, never, SessionReply>;

const ok = (s: SessionState, ctx: TurnContext): SessionReply => ({ ok: true, session: viewOf(s), timestamp: ctx.now.toISOString() });
const done = (s: SessionState, ctx: TurnContext): Result => ({ state: s, reply: ok(s, ctx) });

function transition(state: SessionState, status: SessionStatus, ctx: TurnContext, extra: Partial<SessionState> = {}): SessionState {
  return { ...state, ...extra, status, statusChangedAt: ctx.now.toISOString() };
}

function end(state: SessionState, status: 'dead' | 'failed', reason: EndedReason, ctx: TurnContext): SessionState {
  ctx.clearTimer('deadline');
  ctx.clearTimer('max_age');
  ctx.clearTimer('op');
  return transition(state, status, ctx, { endedReason: reason, pending: null });
}

const busy = (s: SessionState) => conflict(`Session is busy: ${s.pending!.op} in progress`, { operation: s.pending!.op });
const expired = () => badRequest('Session expired: exceeded maximum age');

export const sessionKind: ActorKind<SessionState, SessionCommand, SessionReply, never> = {
  name: SESSION_KIND,
  partitions: 64,
  persistIssuesSynchronously: true,

  load(sql: Sql, id: string): Promise<SessionState> {
    return loadSession(sql, id);
  },

  handle(state: SessionState, cmd: SessionCommand, ctx: TurnContext): Result {
    const now = ctx.now.toISOString();
    if (cmd.type === 'create') {
      if (state.exists) throw conflict('Session already exists');
      const s: SessionState = {
        ...state,
        exists: true,
        spaceId: cmd.spaceId,
        userId: cmd.userId,
        repoId: cmd.repoId,
        branch: cmd.branch,
        status: 'initializing',
        createdAt: now,
        statusChangedAt: now,
        timing: cmd.timing,
      };
      ctx.setTimer('deadline', cmd.initTimeoutMs);
      return done(s, ctx);
    }
    if (!state.exists) throw notFound('Session');

    switch (cmd.type) {
      case 'get':
        return { state, reply: ok(state, ctx) };

      case 'initialized': {
        if (state.status !== 'initializing') throw conflict(`Session is ${state.status}`, { status: state.status });
        const s = transition(state, 'running', ctx, { baseCommit: cmd.baseCommit, runningSince: now });
        ctx.setTimer('deadline', new Date(heartbeatDeadline(s)));
        ctx.setTimer('max_age', new Date(maxAgeAt(s)));
        return done(s, ctx);
      }

      case 'init_failed':
        // Already failed by the init timer (or discarded meanwhile): nothing left to record.
        if (state.status !== 'initializing') return { state, reply: ok(state, ctx) };
        return done(end(state, 'failed', 'init_error', ctx), ctx);

      case 'heartbeat': {
        // The token names the session; it must also be the session's user and space (a token is never reused
        // across sessions, so a mismatch means a forged or confused caller).
        if (cmd.spaceId !== null && cmd.spaceId !== state.spaceId) throw forbidden('Service token is bound to another space');
        if (state.userId !== cmd.userId) throw forbidden('Service token was issued for another user');
        if (state.status !== 'running') throw badRequest('Session is not running', { status: state.status });
        if (ctx.now.getTime() >= maxAgeAt(state)) {
          return { state: end(state, 'dead', 'max_age', ctx), reply: { ok: false, code: 'expired' } };
        }
        // The hot path: one new field, the deadline moved (the later of the start grace and now + timeout).
        const grace = Date.parse(state.runningSince ?? state.createdAt) + state.timing.startGraceMs;
        ctx.setTimer('deadline', new Date(Math.max(grace, ctx.now.getTime() + state.timing.heartbeatTimeoutMs)));
        return { state: { ...state, lastHeartbeat: now }, reply: { ok: true, timestamp: now } };
      }

      case 'begin': {
        if (state.pending) throw busy(state);
        if (cmd.op === 'stop' && state.status !== 'running') throw badRequest('Session is not running', { status: state.status });
        if (cmd.op === 'resume') {
          if (state.status !== 'stopped') throw badRequest('Session is not stopped', { status: state.status });
          if (ctx.now.getTime() >= maxAgeAt(state)) throw expired();
        }
        const until = new Date(ctx.now.getTime() + cmd.opTimeoutMs);
        ctx.setTimer('op', until);
        return done({ ...state, pending: { op: cmd.op, opId: cmd.opId, at: now, until: until.toISOString() } }, ctx);
      }

      case 'complete': {
        const p = state.pending;
        if (!p || p.opId !== cmd.opId) throw conflict('The session operation is no longer in progress', { status: state.status });
        ctx.clearTimer('op');
        if (p.op === 'stop') {
          ctx.clearTimer('deadline');
          return done(transition(state, 'stopped', ctx, { pending: null, headCommit: cmd.headCommit ?? state.headCommit }), ctx);
        }
        const s = transition(state, 'running', ctx, { pending: null, baseCommit: cmd.baseCommit ?? state.baseCommit, runningSince: now });
        ctx.setTimer('deadline', new Date(heartbeatDeadline(s)));
        ctx.setTimer('max_age', new Date(maxAgeAt(s)));
        return done(s, ctx);
      }

      case 'abort':
        if (!state.pending || state.pending.opId !== cmd.opId) return { state, reply: ok(state, ctx) };
        ctx.clearTimer('op');
        return done({ ...state, pending: null }, ctx);

      case 'discard': {
        if (state.status === 'merged') throw badRequest('Cannot discard a merged session');
        if (state.pending) throw busy(state);
        if (state.status === 'discarded') return { state, reply: ok(state, ctx) };
        ctx.clearTimer('deadline');
        ctx.clearTimer('max_age');
        return done(transition(state, 'discarded', ctx), ctx);
      }
    }
  },

  onTimer(state: SessionState, timer: FiredTimer, ctx: TurnContext): TurnResult<SessionState, never> {
    if (!state.exists || FINAL.has(state.status)) return { state };
    const now = ctx.now.getTime();
    switch (timer.name) {
      case 'op':
        // The process doing the stop/resume work died (or took far too long): the session is no longer busy.
        return state.pending ? { state: { ...state, pending: null } } : { state };
      case 'deadline': {
        if (state.status === 'initializing') return { state: end(state, 'failed', 'init_timeout', ctx) };
        if (state.status !== 'running') return { state };
        // A stop in progress is the user ending the session: its runtime may well have stopped heartbeating.
        if (state.pending?.op === 'stop') {
          ctx.setTimer('deadline', new Date(Math.max(now + 1_000, Date.parse(state.pending.until))));
          return { state };
        }
        const due = heartbeatDeadline(state);
        if (now < due) {
          ctx.setTimer('deadline', new Date(due));
          return { state };
        }
        return { state: end(state, 'dead', 'heartbeat_timeout', ctx) };
      }
      case 'max_age': {
        if (state.status !== 'running') return { state };
        if (state.pending?.op === 'stop') {
          ctx.setTimer('max_age', new Date(Math.max(now + 1_000, Date.parse(state.pending.until))));
          return { state };
        }
        if (now < maxAgeAt(state)) {
          ctx.setTimer('max_age', new Date(maxAgeAt(state)));
          return { state };
        }
        return { state: end(state, 'dead', 'max_age', ctx) };
      }
      default:
        return { state };
    }
  },

  persist(tx: TxSql, changes) {
    return persistSessions(tx, changes);
  },
};
