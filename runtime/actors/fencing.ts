import type { Sql, TxSql } from '../db.ts';

/**
 * The Postgres side of partition ownership. Redis leases decide who *should* own a partition; these rows decide who
 * *can write*: a new owner raises the partition's epoch here before it loads any state, and every turn transaction
 * runs `fence()` first, which share-locks the rows and fails unless they still hold the transaction's epochs. So a
 * process that lost its lease (paused, partitioned from Redis, or simply slow) cannot commit anything once the next
 * owner has claimed, whatever Redis says.
 */

/** Largest epoch Postgres has recorded per partition of a kind: the floor for the next epoch Redis hands out. */
export async function readEpochs(sql: Sql, kind: string): Promise<Map<number, number>> {
  const rows = await sql<{ partition: number; epoch: string }[]>`SELECT partition, epoch FROM actor_partitions WHERE kind = ${kind}`;
  return new Map(rows.map((r) => [r.partition, Number(r.epoch)]));
}

/**
 * Records this owner's epochs, only where they are larger than the stored ones (rows locked in partition order, as
 * the fence locks them). Waits for in-flight turn transactions of the previous owner (they hold share locks), so when
 * it returns, everything the previous owner committed is visible and nothing more of it can commit.
 * Returns the partitions now fenced to this owner.
 */
export async function claimEpochs(sql: Sql, kind: string, owner: string, claims: Array<{ partition: number; epoch: number }>, lockTimeoutMs: number): Promise<Set<number>> {
  if (claims.length === 0) return new Set();
  const sorted = [...claims].sort((a, b) => a.partition - b.partition);
  // A bounded wait: the previous owner's transactions end within lockTimeoutMs (see fence()); if not, the claim
  // fails and the next tick retries, rather than hanging the balancing.
  // And an owner frozen between this statement and its COMMIT must not keep the rows locked for longer either.
  const rows = await sql.begin(async (tx) => {
    await tx`SELECT set_config('lock_timeout', ${String(lockTimeoutMs)}, true), set_config('idle_in_transaction_session_timeout', ${String(lockTimeoutMs)}, true)`;
    return tx<{ partition: number }[]>`
    INSERT INTO actor_partitions AS ap (kind, partition, epoch, owner)
    SELECT ${kind}, r.partition, r.epoch, ${owner}
      FROM unnest(${sorted.map((c) => c.partition)}::int[], ${sorted.map((c) => c.epoch)}::bigint[]) AS r(partition, epoch)
     ORDER BY r.partition
    ON CONFLICT (kind, partition) DO UPDATE SET epoch = EXCLUDED.epoch, owner = EXCLUDED.owner, acquired_at = now()
     WHERE ap.epoch < EXCLUDED.epoch
    RETURNING ap.partition`;
  });
  return new Set(rows.map((r) => r.partition));
}

/**
 * First statement of every turn transaction; raises SQLSTATE TA001 (errors.ts: 'fenced') when an epoch moved on, and
 * returns the transaction id (for resolving an unknown outcome, commit.ts).
 * It also bounds how long the transaction may sit idle (a process frozen mid-commit, e.g. SIGSTOP or a VM pause):
 * Postgres ends the session after `idleTimeoutMs`, releasing the share locks a new owner's claim waits for.
 */
export async function fence(tx: TxSql, kind: string, slots: ReadonlyArray<{ partition: number; epoch: number }>, idleTimeoutMs: number): Promise<string> {
  const [r] = await tx<{ txid: string }[]>`
    SELECT set_config('idle_in_transaction_session_timeout', ${String(idleTimeoutMs)}, true),
           actor_fence(${kind}, ${slots.map((s) => s.partition)}::int[], ${slots.map((s) => s.epoch)}::bigint[]),
           txid_current()::text AS txid`;
  return r!.txid;
}
