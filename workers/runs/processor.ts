import type { Logger } from '../../runtime/log.ts';
import type { Sql } from '../../runtime/db.ts';
import type { StreamHub } from '../../runtime/streams/hub.ts';
import { AppError } from '../../runtime/errors.ts';
import { RUN_KIND } from '../../actors/run/kind.ts';
import type { RunCommand, RunReply } from '../../actors/run/state.ts';
import { ModelError } from './model/errors.ts';
import type { ChatMessage, ModelClient } from './model/types.ts';

/**
 * Executes one attempt of a run (spec 3.2 limits: 15 min per run, 2 min per model call).
 *
 *   claim (the run actor grants a lease, or says the run is cancelled/finished/held) -> heartbeat every 5 s
 *   -> the thread's recent messages -> the model, streamed: deltas become `message_delta` events, flushed at most
 *      every 50 ms so a fast model costs ~20 turns/s, not one turn per token
 *   -> finish: `message` + `completed` (the assistant message is written to the thread in the same commit)
 *
 * Failures: a retryable ModelError (rate limit, 5xx, timeout) releases the run to `queued` and rethrows, so BullMQ
 * retries with backoff; anything else fails the run with the reason. Cancellation: the run's own event stream
 * carries `cancelled` to this process within a pub/sub hop; the model call is aborted at once.
 */
export interface RunnerDeps {
  sql: Sql;
  hub: StreamHub;
  log: Logger;
  send(runId: string, cmd: RunCommand): Promise<RunReply>;
  /** Picks the model client for a run (space settings, request, configured keys; demo model without a key). */
  selectModel(ctx: { spaceId: string; requestedModel: string | null }): Promise<{ client: ModelClient; model: string; note?: string }>;
  staleAfterMs: number;
  heartbeatMs: number;
  deadlineMs: number;
  modelTimeoutMs: number;
}

export type RunOutcome = 'completed' | 'failed' | 'cancelled' | 'skipped' | 'lost-lease';

const DELTA_FLUSH_MS = 50;

export async function executeRun(deps: RunnerDeps, runId: string, workerId: string): Promise<RunOutcome> {
  const claim = await deps.send(runId, { type: 'claim', workerId, staleAfterMs: deps.staleAfterMs, deadlineMs: deps.deadlineMs });
  if (!('claimed' in claim) || !claim.claimed) {
    deps.log.info({ runId, reason: 'claimed' in claim ? claim.reason : 'unknown' }, 'run not claimable; skipping');
    return 'skipped';
  }
  const lease = { workerId, leaseVersion: claim.leaseVersion };
  const abort = new AbortController();
  let lostLease = false;
  const unsubscribe = await deps.hub.subscribe(RUN_KIND, runId, {
    onBatch: (b) => {
      if (b.events.some((e) => e.type === 'cancelled')) abort.abort(new Error('cancelled'));
    },
  });
  const beat = setInterval(() => {
    deps.send(runId, { type: 'heartbeat', ...lease, staleAfterMs: deps.staleAfterMs }).catch((err: unknown) => {
      if (err instanceof AppError && err.code === 'CONFLICT') {
        lostLease = true;
        abort.abort(new Error('lease lost'));
      }
    });
  }, deps.heartbeatMs);
  const deadline = setTimeout(() => abort.abort(new Error('deadline')), deps.deadlineMs);

  let pending = '';
  let flushTimer: NodeJS.Timeout | null = null;
  let flushing: Promise<unknown> = Promise.resolve();
  let seq = 0;
  const flush = () => {
    if (flushTimer) clearTimeout(flushTimer);
    flushTimer = null;
    if (pending === '') return flushing;
    const delta = pending;
    pending = '';
    const index = seq++;
    flushing = flushing.then(() => deps.send(runId, { type: 'emit', ...lease, events: [{ type: 'message_delta', data: { delta, index } }] }));
    return flushing;
  };

  try {
    const [ctx] = await deps.sql<{ thread_id: string; account_id: string; model: string | null; agent_type: string; context_window: number }[]>`
      SELECT r.thread_id, r.account_id, r.model, r.agent_type, t.context_window
      FROM runs r JOIN threads t ON t.id = r.thread_id WHERE r.id = ${runId}`;
    if (!ctx) throw new AppError('NOT_FOUND', 'Run not found');
    const history = await deps.sql<{ role: string; content: string }[]>`
      SELECT role, content FROM (
        SELECT role, content, sequence FROM messages WHERE thread_id = ${ctx.thread_id} AND role IN ('user', 'assistant', 'system')
        ORDER BY sequence DESC LIMIT ${ctx.context_window}) m
      ORDER BY sequence`;
    const { client, model, note } = await deps.selectModel({ spaceId: ctx.account_id, requestedModel: ctx.model });
    await deps.send(runId, {
      type: 'emit',
      ...lease,
      events: [{ type: 'started', data: { agent_type: ctx.agent_type, engine: 'takos-runtime', provider: client.provider, model, attempt: claim.attempt, ...(note ? { note } : {}) } }],
    });
    const messages: ChatMessage[] = history.map((m) => ({ role: m.role as ChatMessage['role'], content: m.content }));
    if (messages.length === 0) messages.push({ role: 'user', content: '' });

    let text = '';
    let usage: { inputTokens: number; outputTokens: number } | null = null;
    for await (const chunk of client.streamChat({ model, messages, signal: abort.signal, timeoutMs: deps.modelTimeoutMs })) {
      if (chunk.type === 'delta') {
        text += chunk.text;
        pending += chunk.text;
        flushTimer ??= setTimeout(() => void flush().catch(() => {}), DELTA_FLUSH_MS);
      } else if (chunk.type === 'usage') usage = { inputTokens: chunk.inputTokens, outputTokens: chunk.outputTokens };
    }
    await flush();
    await deps.send(runId, { type: 'finish', ...lease, outcome: 'completed', message: text, usage });
    return 'completed';
  } catch (err) {
    if (flushTimer) clearTimeout(flushTimer);
    await flushing.catch(() => {});
    const reason = abort.signal.aborted ? String((abort.signal.reason as Error | undefined)?.message ?? '') : '';
    if (reason === 'cancelled') return 'cancelled';
    if (lostLease || (err instanceof AppError && err.code === 'CONFLICT')) return 'lost-lease';
    if (reason === 'deadline') {
      await deps.send(runId, { type: 'finish', ...lease, outcome: 'failed', error: 'Run exceeded the 15 minute limit' }).catch(() => {});
      return 'failed';
    }
    if (err instanceof ModelError && err.retryable) {
      await deps.send(runId, { type: 'release', ...lease, error: `${err.kind}: ${err.message}` }).catch(() => {});
      throw err;
    }
    const message = err instanceof ModelError ? `Model ${err.kind}: ${err.message}` : err instanceof Error ? err.message : String(err);
    await deps.send(runId, { type: 'finish', ...lease, outcome: 'failed', error: message }).catch(() => {});
    deps.log.warn({ err, runId }, 'run failed');
    return 'failed';
  } finally {
    clearInterval(beat);
    clearTimeout(deadline);
    unsubscribe();
  }
}
