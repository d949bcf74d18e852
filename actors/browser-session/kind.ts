import type { Sql } from '../../runtime/db.ts';
import { AppError, notFound } from '../../runtime/errors.ts';
import type { Kernel } from '../../runtime/kernel.ts';
import type { ActorKind, FiredTimer, TurnContext, TurnResult } from '../../runtime/actors/types.ts';
import { LIVE, type BrowserSessionCommand, type BrowserSessionState } from './state.ts';

/**
 * The browser-session actor: the single writer of a browser session's durable record (table browser_sessions).
 * The page itself lives in one browser worker process (workers/browser/host.ts); this actor knows which one.
 *
 *   starting -> active -> stopped   (DELETE, idle timeout, max lifetime)
 *        \         \----> failed    (worker lost, browser/renderer crash reported by the worker, create failed)
 *
 * Durable timers (Postgres, fire after a web restart too):
 *  - `idle`: re-armed by every `use`; fires -> stopped, reason idle_timeout (default 15 min, BROWSER_IDLE_TIMEOUT_MS);
 *  - `lifetime`: set once at create; fires -> stopped, reason max_lifetime (BROWSER_MAX_LIFETIME_MS);
 *  - `liveness`: every heartbeat TTL the actor reads its worker's heartbeat key; missing -> failed, reason
 *    worker_lost. So a kill -9'd worker's sessions are failed within about one TTL by the actor itself, never guessed
 *    at read time. (A read of Redis in a timer turn is harmless to repeat, which is all the kind contract asks.)
 * After a commit that ends a session, the `onCommitted` listener (wiring.ts) tells the worker to close the page.
 * Ownership: every command carrying a userId answers 404 to anyone but the creator, like a session that does not
 * exist (the original checked only GET, and with 403, which confirms the id exists).
 */
export const BROWSER_SESSION_KIND = 'browser_session';

type Result = TurnResult<BrowserSessionState, never, unknown>;

const EMPTY: Omit<BrowserSessionState, 'id'> = {
  exists: false,
  owner_id: '',
  space_id: '',
  worker_id: '',
  status: 'starting',
  reason: null,
  reason_message: null,
  url: '',
  viewport: { width: 1280, height: 720 },
  created_at: '',
  last_used_at: '',
  expires_at: '',
  ended_at: null,
  idle_ms: 900_000,
  liveness_ms: 10_000,
};

export function view(s: BrowserSessionState) {
  return {
    sessionId: s.id,
    spaceId: s.space_id,
    userId: s.owner_id,
    status: s.status,
    reason: s.reason,
    reasonMessage: s.reason_message,
    url: s.url,
    viewport: s.viewport,
    createdAt: s.created_at,
    lastUsedAt: s.last_used_at,
    expiresAt: s.expires_at,
    endedAt: s.ended_at,
  };
}
export type BrowserSessionView = ReturnType<typeof view>;

function end(s: BrowserSessionState, ctx: TurnContext, status: 'stopped' | 'failed', reason: string | null, message: string | null): BrowserSessionState {
  ctx.clearTimer('idle');
  ctx.clearTimer('lifetime');
  ctx.clearTimer('liveness');
  return { ...s, status, reason, reason_message: message, ended_at: ctx.now.toISOString() };
}

export function browserSessionKind(kernel: Pick<Kernel, 'redis' | 'keys' | 'config'>): ActorKind<BrowserSessionState, BrowserSessionCommand, unknown, never> {
  return {
    name: BROWSER_SESSION_KIND,
    persistIssuesSynchronously: true,
    partitions: 16,

    async load(sql: Sql, id: string): Promise<BrowserSessionState> {
      const [r] = await sql<Array<Record<string, unknown>>>`
        SELECT id, owner_id, space_id, worker_id, status, reason, reason_message, url, viewport, created_at, last_used_at, expires_at, ended_at
        FROM browser_sessions WHERE id = ${id}`;
      if (!r) return { ...EMPTY, id };
      const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : null);
      return {
        ...EMPTY,
        ...(r as unknown as BrowserSessionState),
        exists: true,
        created_at: iso(r.created_at)!,
        last_used_at: iso(r.last_used_at)!,
        expires_at: iso(r.expires_at)!,
        ended_at: iso(r.ended_at),
        idle_ms: kernel.config.BROWSER_IDLE_TIMEOUT_MS,
        liveness_ms: kernel.config.BROWSER_HEARTBEAT_TTL_MS,
      };
    },

    handle(state, cmd, ctx): Result {
      const now = ctx.now.toISOString();
      if (cmd.type === 'create') {
        if (state.exists) throw new AppError('CONFLICT', 'Browser session already exists');
        ctx.setTimer('idle', cmd.idleMs);
        ctx.setTimer('lifetime', cmd.lifetimeMs);
        ctx.setTimer('liveness', cmd.livenessMs);
        const s: BrowserSessionState = {
          ...state,
          exists: true,
          owner_id: cmd.ownerId,
          space_id: cmd.spaceId,
          worker_id: cmd.workerId,
          status: 'starting',
          url: cmd.url,
          viewport: cmd.viewport,
          created_at: now,
          last_used_at: now,
          expires_at: new Date(ctx.now.getTime() + cmd.lifetimeMs).toISOString(),
          idle_ms: cmd.idleMs,
          liveness_ms: cmd.livenessMs,
        };
        return { state: s, reply: view(s) };
      }
      if (!state.exists) throw notFound('Browser session');
      switch (cmd.type) {
        case 'get':
          if (state.owner_id !== cmd.userId) throw notFound('Browser session');
          return { state, reply: view(state) };
        case 'use': {
          if (state.owner_id !== cmd.userId) throw notFound('Browser session');
          if (state.status === 'starting') throw new AppError('CONFLICT', 'Browser session is still starting', { details: { reason: 'starting' } });
          if (state.status !== 'active') {
            throw new AppError('GONE', `Browser session is ${state.status}`, { details: { reason: state.reason ?? state.status, message: state.reason_message } });
          }
          ctx.setTimer('idle', state.idle_ms);
          const s = { ...state, last_used_at: now };
          // The route needs the worker to call; it never goes into a response (ops.ts strips it).
          return { state: s, reply: { ...view(s), workerId: s.worker_id } };
        }
        case 'activated': {
          if (state.status !== 'starting') return { state, reply: view(state) };
          const s = { ...state, status: 'active' as const, url: cmd.url, last_used_at: now };
          return { state: s, reply: view(s) };
        }
        case 'navigated': {
          if (state.status !== 'active') return { state, reply: view(state) };
          const s = { ...state, url: cmd.url };
          return { state: s, reply: view(s) };
        }
        case 'stop': {
          if (state.owner_id !== cmd.userId) throw notFound('Browser session');
          if (!LIVE.has(state.status)) return { state, reply: view(state) };
          const s = end(state, ctx, 'stopped', 'deleted', null);
          return { state: s, reply: view(s) };
        }
        case 'fail': {
          if (!LIVE.has(state.status)) return { state, reply: view(state) };
          const s = end(state, ctx, 'failed', cmd.reason, cmd.message);
          return { state: s, reply: view(s) };
        }
      }
    },

    async onTimer(state, timer: FiredTimer, ctx) {
      if (!state.exists || !LIVE.has(state.status)) return { state };
      switch (timer.name) {
        case 'idle':
          return { state: end(state, ctx, 'stopped', 'idle_timeout', `Closed after ${Math.round(state.idle_ms / 1000)} s without use`) };
        case 'lifetime':
          return { state: end(state, ctx, 'stopped', 'max_lifetime', 'The session reached its maximum lifetime') };
        case 'liveness': {
          const alive = (await kernel.redis.cmd.exists(kernel.keys.browserWorker(state.worker_id))) === 1;
          if (alive) {
            ctx.setTimer('liveness', state.liveness_ms);
            return { state };
          }
          return { state: end(state, ctx, 'failed', 'worker_lost', 'The browser worker holding this session stopped (no heartbeat)') };
        }
        default:
          return { state };
      }
    },

    async persist(tx, changes) {
      await Promise.all(
        changes.map(({ state: s }) => tx`
          INSERT INTO browser_sessions (id, owner_id, space_id, worker_id, status, reason, reason_message, url, viewport, created_at, last_used_at, expires_at, ended_at)
          VALUES (${s.id}, ${s.owner_id}, ${s.space_id}, ${s.worker_id}, ${s.status}, ${s.reason}, ${s.reason_message}, ${s.url}, ${tx.json(s.viewport)}, ${s.created_at}, ${s.last_used_at}, ${s.expires_at}, ${s.ended_at})
          ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, reason = EXCLUDED.reason, reason_message = EXCLUDED.reason_message, url = EXCLUDED.url,
            last_used_at = EXCLUDED.last_used_at, ended_at = EXCLUDED.ended_at`),
      );
    },
  };
}
