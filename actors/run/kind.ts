import type { Sql, TxSql } from '../../runtime/db.ts';
import { AppError, badRequest, conflict } from '../../runtime/errors.ts';
import { newId } from '../../runtime/ids.ts';
import type { ActorChange, ActorKind, TurnContext, TurnResult } from '../../runtime/actors/types.ts';
import type { StreamEvent } from '../../runtime/streams/types.ts';
import { appendRunMessage } from '../../http/api/threads/queries.ts';
import { TERMINAL, type RunCommand, type RunEventInput, type RunReply, type RunState } from './state.ts';

/**
 * The run actor: the single writer of a run's status, lease and events (state machine in state.ts). A turn only
 * computes; `persist` writes every run changed in a batch in one transaction: the runs row, its new events, and
 * the assistant message when a `message` event carries `persist: true`.
 */
export const RUN_KIND = 'run';
const MAX_EVENT_DATA = 1_048_576;

type Result = TurnResult<RunState, StreamEvent, RunReply>;

export const runKind: ActorKind<RunState, RunCommand, RunReply, StreamEvent> = {
  name: RUN_KIND,
  persistIssuesSynchronously: true,
  partitions: 64,

  async load(sql: Sql, id: string): Promise<RunState> {
    const [r] = await sql<Array<Omit<RunState, 'exists' | 'worker_heartbeat' | 'started_at' | 'completed_at'> & { worker_heartbeat: Date | null; started_at: Date | null; completed_at: Date | null }>>`
      SELECT id, thread_id, account_id, requester_account_id, session_id, status, last_event_id, output, error, usage,
             worker_id, worker_heartbeat, lease_version, attempts, started_at, completed_at
      FROM runs WHERE id = ${id}`;
    if (!r) return { ...EMPTY, id };
    return {
      ...r,
      exists: true,
      worker_heartbeat: r.worker_heartbeat?.toISOString() ?? null,
      started_at: r.started_at?.toISOString() ?? null,
      completed_at: r.completed_at?.toISOString() ?? null,
    };
  },

  handle(state: RunState, cmd: RunCommand, ctx: TurnContext): Result {
    if (!state.exists) throw new AppError('NOT_FOUND', 'Run not found');
    const s: RunState = { ...state, requeue: false };
    const events: StreamEvent[] = [];
    const now = ctx.now.toISOString();
    const emit = (e: RunEventInput) => {
      if (JSON.stringify(e.data).length >= MAX_EVENT_DATA) throw badRequest('Data too large');
      s.last_event_id += 1;
      events.push({ id: s.last_event_id, type: e.type, data: e.data, created_at: now });
    };
    const terminalPayload = (status: string, extra: Record<string, unknown> = {}) => ({ status, run: { id: s.id, session_id: s.session_id }, ...extra });
    const holdsLease = (c: { workerId: string; leaseVersion: number }) => {
      if (s.status !== 'running' || s.worker_id !== c.workerId || s.lease_version !== c.leaseVersion) {
        throw conflict('Lease lost', { status: s.status });
      }
    };
    const done = (reply?: RunReply): Result => ({ state: s, events, ...(reply ? { reply } : { reply: { ok: true, lastEventId: s.last_event_id, status: s.status } }) });

    switch (cmd.type) {
      case 'claim': {
        const stale = s.status === 'running' && (!s.worker_heartbeat || ctx.now.getTime() - Date.parse(s.worker_heartbeat) > cmd.staleAfterMs);
        if (s.status !== 'queued' && !stale) return done({ claimed: false, reason: s.status === 'running' ? 'held by another worker' : `run is ${s.status}`, status: s.status });
        s.status = 'running';
        s.worker_id = cmd.workerId;
        s.worker_heartbeat = now;
        s.lease_version += 1;
        s.attempts += 1;
        s.started_at ??= now;
        s.error = null;
        ctx.setTimer('stale', cmd.staleAfterMs);
        if (s.attempts === 1) ctx.setTimer('deadline', cmd.deadlineMs);
        return done({ claimed: true, leaseVersion: s.lease_version, attempt: s.attempts });
      }
      case 'heartbeat':
        holdsLease(cmd);
        s.worker_heartbeat = now;
        ctx.setTimer('stale', cmd.staleAfterMs);
        return done();
      case 'emit':
        holdsLease(cmd);
        for (const e of cmd.events) emit(e);
        s.worker_heartbeat = now;
        return done();
      case 'release':
        holdsLease(cmd);
        s.status = 'queued';
        s.worker_id = null;
        s.worker_heartbeat = null;
        s.error = cmd.error;
        emit({ type: 'thinking', data: { message: `Attempt ${s.attempts} failed, retrying: ${cmd.error}`, warning: true } });
        ctx.clearTimer('stale');
        return done();
      case 'finish': {
        holdsLease(cmd);
        if (cmd.usage) s.usage = JSON.stringify(cmd.usage);
        if (cmd.outcome === 'completed') {
          if (cmd.message != null) emit({ type: 'message', data: { content: cmd.message, persist: true } });
          s.status = 'completed';
          s.output = cmd.output ?? cmd.message ?? null;
          emit({ type: 'completed', data: terminalPayload('completed', { success: true, usage: cmd.usage ?? undefined, ...cmd.details }) });
        } else {
          s.status = 'failed';
          s.error = cmd.error ?? 'Run failed';
          emit({ type: 'error', data: terminalPayload('failed', { error: s.error, usage: cmd.usage ?? undefined }) });
        }
        return finishTimers(s, ctx, now, done);
      }
      case 'cancel':
        if (TERMINAL.has(s.status)) throw badRequest('Run is already finished');
        s.status = 'cancelled';
        emit({ type: 'cancelled', data: terminalPayload('cancelled', { cancelled_by: cmd.by }) });
        return finishTimers(s, ctx, now, () => done({ ok: true, lastEventId: s.last_event_id, status: s.status }));
      case 'dead_letter':
        if (TERMINAL.has(s.status)) return done();
        s.status = 'failed';
        s.error = `DLQ: Run failed permanently after max retries. Previous error: ${cmd.error || 'unknown'}`;
        emit({ type: 'run.failed', data: terminalPayload('failed', { error: s.error, permanent: true }) });
        return finishTimers(s, ctx, now, done);
    }
  },

  onTimer(state, timer, ctx) {
    const s: RunState = { ...state, requeue: false };
    const events: StreamEvent[] = [];
    const now = ctx.now.toISOString();
    if (!s.exists || TERMINAL.has(s.status)) return { state: s };
    if (timer.name === 'deadline') {
      s.status = 'failed';
      s.error = 'Run exceeded the 15 minute limit';
      s.last_event_id += 1;
      events.push({ id: s.last_event_id, type: 'error', data: { status: 'failed', run: { id: s.id, session_id: s.session_id }, error: s.error }, created_at: now });
      s.completed_at = now;
      s.worker_id = null;
      ctx.clearTimer('stale');
    } else if (timer.name === 'stale' && s.status === 'running') {
      // The worker stopped heartbeating (crashed, partitioned): hand the run back to the queue.
      s.status = 'queued';
      s.worker_id = null;
      s.worker_heartbeat = null;
      s.requeue = true;
      s.last_event_id += 1;
      events.push({ id: s.last_event_id, type: 'thinking', data: { message: 'Worker heartbeat lost; run re-queued', warning: true }, created_at: now });
    }
    return { state: s, events };
  },

  async persist(tx: TxSql, changes: ReadonlyArray<ActorChange<RunState, StreamEvent>>): Promise<unknown> {
    const work: Promise<unknown>[] = [];
    const rows: Array<{ run_id: string; id: number; type: string; data: unknown; created_at: string }> = [];
    const messages: Array<{ threadId: string; runId: string; content: string }> = [];
    // One UPDATE for every run of the batch (unnest), not one per run: a batch of 200 runs was 200 statements for
    // postgres.js to build and Postgres to plan. bench/streams "append" (200 runs, 1 event per emit, remote): 1,892
    // events/s with one UPDATE per run; see bench/results/streams-*.md for the figure with this statement.
    const st = changes.map((c) => c.state);
    work.push(tx`
      UPDATE runs AS r SET status = v.status, last_event_id = v.last_event_id, output = v.output, error = v.error, usage = v.usage,
        worker_id = v.worker_id, worker_heartbeat = v.worker_heartbeat, lease_version = v.lease_version, attempts = v.attempts,
        started_at = v.started_at, completed_at = v.completed_at
      FROM unnest(${st.map((s) => s.id)}::text[], ${st.map((s) => s.status)}::text[], ${st.map((s) => s.last_event_id)}::int[],
                  ${st.map((s) => s.output)}::text[], ${st.map((s) => s.error)}::text[], ${st.map((s) => s.usage)}::text[],
                  ${st.map((s) => s.worker_id)}::text[], ${st.map((s) => s.worker_heartbeat)}::text[]::timestamptz[],
                  ${st.map((s) => s.lease_version)}::int[], ${st.map((s) => s.attempts)}::int[],
                  ${st.map((s) => s.started_at)}::text[]::timestamptz[], ${st.map((s) => s.completed_at)}::text[]::timestamptz[])
        AS v(id, status, last_event_id, output, error, usage, worker_id, worker_heartbeat, lease_version, attempts, started_at, completed_at)
      WHERE r.id = v.id`);
    for (const c of changes) {
      const s = c.state;
      for (const e of c.events) {
        rows.push({ run_id: s.id, id: e.id, type: e.type, data: e.data, created_at: e.created_at });
        if (e.type === 'message' && (e.data as { persist?: boolean }).persist) {
          messages.push({ threadId: s.thread_id, runId: s.id, content: String((e.data as { content: unknown }).content ?? '') });
        }
      }
    }
    if (rows.length > 0) {
      work.push(tx`INSERT INTO run_events ${tx(rows.map((r) => ({ ...r, data: tx.json(r.data as Parameters<typeof tx.json>[0]) })))}`);
    }
    // The final assistant messages: one statement each that inserts nothing for a thread deleted meanwhile, so that
    // such a thread costs its message only, not the batch's commit.
    for (const m of messages) work.push(appendRunMessage(tx, m.threadId, m.runId, m.content));
    await Promise.all(work);
    return null;
  },
};

function finishTimers(s: RunState, ctx: TurnContext, now: string, done: () => Result): Result {
  s.completed_at = now;
  s.worker_id = null;
  ctx.clearTimer('stale');
  ctx.clearTimer('deadline');
  return done();
}

const EMPTY: Omit<RunState, 'id'> = {
  exists: false, thread_id: '', account_id: '', requester_account_id: null, session_id: null, status: 'queued', last_event_id: 0,
  output: null, error: null, usage: '{}', worker_id: null, worker_heartbeat: null, lease_version: 0, attempts: 0, started_at: null, completed_at: null,
};

export const newArtifactId = newId;
