import { AppError, notFound } from '../../../runtime/errors.ts';
import { newHexId32 } from '../../../runtime/ids.ts';
import type { AppDeps } from '../../deps.ts';
import { BROWSER_SESSION_KIND, type BrowserSessionView } from '../../../actors/browser-session/kind.ts';
import type { BrowserSessionCommand } from '../../../actors/browser-session/state.ts';
import type { BrowserOp } from '../../../workers/browser/protocol.ts';
import type { BrowserResult } from '../../../workers/browser/client.ts';
import type { CreateSessionInput } from '../../../workers/browser/schemas.ts';
import { DEFAULT_VIEWPORT } from '../../../workers/browser/schemas.ts';

/**
 * What every browser-session route does around the page call: the actor checks ownership and state (and re-arms
 * the idle timer), the worker named by the session runs the call, and a worker answer that says the page is gone
 * (410, or the worker itself vanished) is recorded on the actor as `failed` with the worker's reason, so the next
 * GET tells the caller why.
 */
const ID = /^[0-9a-f]{32}$/;

export function send(deps: AppDeps, id: string, cmd: BrowserSessionCommand): Promise<BrowserSessionView> {
  // A malformed id cannot name a session: 404 without touching the actor system.
  if (!ID.test(id)) return Promise.reject(notFound('Browser session'));
  return deps.actors.send(BROWSER_SESSION_KIND, id, cmd) as Promise<BrowserSessionView>;
}

const reasonOf = (e: AppError): string => {
  const d = e.details as { reason?: unknown } | undefined;
  return typeof d?.reason === 'string' ? d.reason : e.code.toLowerCase();
};

async function recordLoss(deps: AppDeps, id: string, err: unknown): Promise<void> {
  if (!(err instanceof AppError)) return;
  const lost = err.code === 'GONE' || reasonOf(err) === 'worker_lost';
  if (lost) await send(deps, id, { type: 'fail', reason: reasonOf(err), message: err.message }).catch(() => {});
}

export async function pageCall(deps: AppDeps, userId: string, id: string, op: BrowserOp, input: unknown): Promise<{ session: BrowserSessionView; result: BrowserResult }> {
  const { workerId, ...session } = (await send(deps, id, { type: 'use', userId })) as BrowserSessionView & { workerId: string };
  try {
    const result = await deps.browser.call(workerId, op, id, input);
    return { session, result };
  } catch (err) {
    await recordLoss(deps, id, err);
    throw err;
  }
}

/** The worker is not part of the public view; read it from the actor's row. */
async function workerOf(deps: AppDeps, id: string): Promise<string> {
  const [r] = await deps.sql<Array<{ worker_id: string }>>`SELECT worker_id FROM browser_sessions WHERE id = ${id}`;
  if (!r) throw notFound('Browser session');
  return r.worker_id;
}

export async function createSession(deps: AppDeps, userId: string, spaceId: string, input: CreateSessionInput): Promise<BrowserSessionView> {
  const workers = await deps.browser.workers();
  const w = workers[0];
  if (!w) throw new AppError('SERVICE_UNAVAILABLE', 'No browser worker is running', { details: { reason: 'no_worker' } });
  const id = newHexId32();
  const c = deps.config;
  await send(deps, id, {
    type: 'create',
    ownerId: userId,
    spaceId,
    workerId: w.workerId,
    url: input.url ?? '',
    viewport: input.viewport ?? DEFAULT_VIEWPORT,
    idleMs: c.BROWSER_IDLE_TIMEOUT_MS,
    lifetimeMs: c.BROWSER_MAX_LIFETIME_MS,
    livenessMs: c.BROWSER_HEARTBEAT_TTL_MS,
  });
  try {
    const r = await deps.browser.call(w.workerId, 'create', id, input);
    return await send(deps, id, { type: 'activated', url: (r.value as { url: string }).url });
  } catch (err) {
    // The record stays (failed, with why), so the id the caller never received is not a dangling `starting` row.
    const e = err instanceof AppError ? err : null;
    await send(deps, id, { type: 'fail', reason: e ? `create_${reasonOf(e)}` : 'create_failed', message: e?.message ?? 'Creating the browser session failed' }).catch(() => {});
    throw err;
  }
}

export async function destroySession(deps: AppDeps, userId: string, id: string): Promise<BrowserSessionView> {
  // The actor's commit listener closes the page on the worker (wiring.ts); DELETE also waits for it so the slot is
  // free when the answer arrives (tests and clients that create right after a delete rely on that).
  const before = await send(deps, id, { type: 'get', userId });
  const after = await send(deps, id, { type: 'stop', userId });
  if (before.status === 'active' || before.status === 'starting') {
    const workerId = await workerOf(deps, id);
    if (await deps.browser.isAlive(workerId)) await deps.browser.call(workerId, 'close', id, {}, 30_000).catch(() => {});
  }
  return after;
}
