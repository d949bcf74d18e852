import type { ActorKind } from '../../runtime/actors/index.ts';
import type { Sql } from '../../runtime/db.ts';

/**
 * The bench's actor kind: a counter per key with a table of its own (created by the bench server, not a migration:
 * it is not part of the product). `add` is the whole command -> durable state change -> reply cycle: the turn
 * increments in memory, the host commits the rounds of many actors in one fenced transaction (`persist` upserts
 * every changed counter with one statement), and the reply is the committed value.
 */
export interface Counter {
  n: number;
}
export type CounterCommand = { type: 'add' } | { type: 'get' };

export const BENCH_KIND = 'benchhttp';

export async function createCounterTable(sql: Sql): Promise<void> {
  await sql`CREATE TABLE IF NOT EXISTS bench_http_counter (id text PRIMARY KEY, n bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`;
}

export const counterKind: ActorKind<Counter, CounterCommand, { n: number }> = {
  name: BENCH_KIND,
  // One statement, issued synchronously: the commit goes in one flight (runtime/actors/commit.ts), like the
  // product's inbox and session kinds.
  persistIssuesSynchronously: true,
  async load(sql, id) {
    const [r] = await sql<{ n: string }[]>`SELECT n FROM bench_http_counter WHERE id = ${id}`;
    return { n: r ? Number(r.n) : 0 };
  },
  handle(state, cmd) {
    if (cmd.type === 'get') return { state, reply: { n: state.n } };
    const next = { n: state.n + 1 };
    return { state: next, reply: next };
  },
  persist(tx, changes) {
    return tx`
      INSERT INTO bench_http_counter (id, n, updated_at)
      SELECT id, n, now() FROM unnest(${changes.map((c) => c.id)}::text[], ${changes.map((c) => c.state.n)}::bigint[]) AS u(id, n)
      ON CONFLICT (id) DO UPDATE SET n = EXCLUDED.n, updated_at = EXCLUDED.updated_at`;
  },
};
