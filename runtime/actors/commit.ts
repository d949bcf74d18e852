import type { Sql, TxSql } from '../db.ts';
import type { Logger } from '../log.ts';
import type { Round } from './round.ts';
import { fence } from './fencing.ts';
import { writeTimers, type TimerWrites } from './timers.ts';
import type { ActorChange, AnyActorKind } from './types.ts';

/**
 * The transaction of a batch of rounds (any actors and partitions of one kind): fence, the kind's persist, command
 * records, timer changes. All statements are issued without waiting for the previous one, so postgres.js pipelines
 * them: BEGIN, one flight of statements, COMMIT. When the fence raises, the statements behind it fail with "current
 * transaction is aborted" and the whole batch rolls back.
 *
 * Measured (bench/actors/turns.ts through run.mjs: durable Postgres 15 with fsync, 2 vCPU shared with other load;
 * one hot key, 50 senders): one turn per transaction (maxTurnsPerRound 1) 98-149 turns/s, the WAL flush being the
 * limit; the actor's queued turns in one transaction 6,980 turns/s (25 turns per transaction), 0.82x the composite
 * baseline measured in the same run. Pipelining the statements (instead of awaiting each) saves one round trip per
 * statement; with `sql.begin()` BEGIN and COMMIT remain separate round trips, which oneFlight() below removes for
 * kinds that declare persistIssuesSynchronously (every product kind).
 */
/**
 * A failed commit, with the transaction id when the transaction got that far: a connection lost during COMMIT leaves
 * the outcome unknown, and `txid_status(txid)` tells which it was (resolveOutcome), so that commands without a
 * durable id record are never applied twice.
 */
export class CommitFailed extends Error {
  constructor(
    readonly error: unknown,
    readonly txid: string | null,
  ) {
    super('actor commit failed', { cause: error });
  }
}

export async function commitRounds(sql: Sql, kind: AnyActorKind, rounds: Round[], idleTimeoutMs: number, log?: Logger): Promise<void> {
  const slots = new Map<number, number>();
  for (const r of rounds) slots.set(r.cell.slot.partition, r.cell.slot.epoch);

  const changes: ActorChange<unknown, unknown>[] = [];
  const rec = { actorIds: [] as string[], commandIds: [] as string[], partitions: [] as number[], oks: [] as boolean[], replies: [] as string[] };
  const timers: TimerWrites = { fired: [], sets: [], clears: [] };

  for (const r of rounds) {
    const { id, slot } = r.cell;
    if (r.changed) changes.push({ id, partition: slot.partition, state: r.state, previous: r.previous, events: r.events });
    for (const t of r.turns) {
      if (!t.env.record) continue;
      rec.actorIds.push(id);
      rec.commandIds.push(t.env.commandId);
      rec.partitions.push(slot.partition);
      rec.oks.push(t.outcome.ok);
      rec.replies.push(JSON.stringify(t.outcome.ok ? (t.outcome.reply ?? null) : t.outcome.error));
    }
    for (const f of r.fired) timers.fired.push({ actorId: id, name: f.name, timerId: f.timerId });
    for (const op of r.timerOps.values()) {
      if (op.op === 'set') timers.sets.push({ actorId: id, partition: slot.partition, op });
      else timers.clears.push({ actorId: id, name: op.name });
    }
  }

  let txid: string | null = null;
  const body = (tx: TxSql): Promise<unknown>[] => {
    const fenced = fence(tx, kind.name, [...slots].map(([partition, epoch]) => ({ partition, epoch })), idleTimeoutMs).then((id) => (txid = id));
    const pending: Promise<unknown>[] = [fenced];
    if (changes.length > 0) pending.push(kind.persist(tx, changes));
    if (rec.commandIds.length > 0) {
      pending.push(tx`
        INSERT INTO actor_commands (kind, actor_id, command_id, partition, ok, reply)
        SELECT ${kind.name}, * FROM unnest(${rec.actorIds}::text[], ${rec.commandIds}::text[], ${rec.partitions}::int[], ${rec.oks.map((ok) => (ok ? 't' : 'f'))}::text[]::boolean[], ${rec.replies}::text[]::jsonb[])`);
    }
    pending.push(...writeTimers(tx, kind.name, timers));
    return pending;
  };
  try {
    if (kind.persistIssuesSynchronously) await oneFlight(sql, body, (err) => log?.error({ err, kind: kind.name }, 'persist failed after its transaction committed'));
    else await sql.begin((tx) => Promise.all(body(tx)));
  } catch (err) {
    throw new CommitFailed(err, txid);
  }
}

/**
 * BEGIN, the statements and COMMIT written to one reserved connection without waiting in between: postgres.js
 * pipelines them (each query ends with its own Sync), so the transaction costs one round trip. `sql.begin()` waits
 * for BEGIN before running the body and for the body before COMMIT: three round trips (bench/actors/commit-paths.mjs,
 * one transaction at a time: p50 0.44 ms with begin(), 0.31 ms in one flight).
 *
 * Failure: after a failing statement Postgres answers every later one with 25P02 and turns COMMIT into ROLLBACK, so
 * nothing is applied; the first error in issue order is the one thrown (the fence's TA001 comes before any
 * statement's). Every reply is awaited before the connection goes back to the pool.
 */
async function oneFlight(sql: Sql, body: (tx: TxSql) => Promise<unknown>[], onLate?: (err: unknown) => void): Promise<void> {
  const conn = await sql.reserve();
  let sealed = false;
  // Every query is started the moment it is written (postgres.js otherwise starts one when it is first awaited, and
  // `await`/Promise.all do that a microtask later, which could put COMMIT ahead of it). A statement issued after
  // COMMIT was sent would run outside the transaction: refused loudly instead.
  const started = (q: unknown): unknown => {
    if (sealed) throw new Error('a persist declared persistIssuesSynchronously issued a statement after COMMIT');
    const query = q as { execute?: () => unknown };
    if (typeof query.execute === 'function') query.execute();
    return q;
  };
  const tx = new Proxy(conn, {
    apply(target, thisArg, args: unknown[]) {
      const out = Reflect.apply(target, thisArg, args) as unknown;
      // tx`...` is a query; tx(rows, ...columns) is a helper used inside one.
      return Array.isArray((args[0] as { raw?: unknown } | undefined)?.raw) ? started(out) : out;
    },
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'unsafe' && typeof v === 'function') return (...a: unknown[]) => started((v as (...x: unknown[]) => unknown).apply(target, a));
      return v;
    },
  }) as unknown as TxSql;
  try {
    const begin = conn`BEGIN`.execute();
    const work = body(tx);
    sealed = true;
    const commit = conn`COMMIT`.execute();
    const settled = await Promise.allSettled([begin, ...work, commit]);
    const last = settled[settled.length - 1]!;
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (last.status === 'fulfilled' && (last.value as { command?: string }).command === 'COMMIT') {
      // Committed: every statement in the flight succeeded (one failure turns COMMIT into ROLLBACK). A rejection
      // here can only be the persist's own code failing after the flight (the late-statement guard above): the
      // transaction is what counts, and the bug is reported.
      if (failed) onLate?.(failed.reason);
      return;
    }
    if (failed) throw failed.reason;
    throw new Error(`transaction ended with ${(last as PromiseFulfilledResult<{ command?: string }>).value.command ?? 'no command tag'}`);
  } finally {
    conn.release();
  }
}

/**
 * Whether the transaction `txid` committed, asked until Postgres answers (it may be down: the caller's rounds wait,
 * which is right, since answering either way without knowing could apply a command twice or lose it).
 */
export async function resolveOutcome(sql: Sql, txid: string, stillWanted: () => boolean): Promise<'committed' | 'aborted' | 'abandoned'> {
  for (let delay = 50; ; delay = Math.min(delay * 2, 5_000)) {
    if (!stillWanted()) return 'abandoned';
    try {
      const [r] = await sql<{ s: string | null }[]>`SELECT txid_status(${txid}::bigint) AS s`;
      if (r?.s === 'committed') return 'committed';
      // null: older than the commit-status horizon, impossible this soon; treat like aborted (not applied).
      if (r?.s !== 'in progress') return 'aborted';
    } catch {
      /* still unreachable */
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** Stored outcomes of commands already applied (the pre-turn check of possibly repeated commands). */
export async function appliedCommands(sql: Sql, kind: string, actorId: string, commandIds: string[]): Promise<Map<string, { ok: boolean; reply: unknown }>> {
  const rows = await sql<{ command_id: string; ok: boolean; reply: unknown }[]>`
    SELECT command_id, ok, reply FROM actor_commands WHERE kind = ${kind} AND actor_id = ${actorId} AND command_id = ANY (${commandIds}::text[])`;
  return new Map(rows.map((r) => [r.command_id, { ok: r.ok, reply: r.reply }]));
}

/** Drops command records older than the deduplication window, for the partitions this process owns. */
export async function pruneCommands(sql: Sql, kind: string, partitions: number[], retentionMs: number): Promise<number> {
  if (partitions.length === 0) return 0;
  const res = await sql`
    DELETE FROM actor_commands WHERE ctid = ANY (ARRAY(
      SELECT ctid FROM actor_commands
       WHERE kind = ${kind} AND partition = ANY (${partitions}::int[]) AND committed_at < now() - make_interval(secs => ${retentionMs / 1000})
       LIMIT 10000))`;
  return res.count;
}
