import type { Sql, TxSql } from '../db.ts';
import type { ActorChange } from './types.ts';

/**
 * `load` and `persist` for kinds whose state is one JSON document per actor (table actor_state). Use it when the
 * state has no relational use of its own (heartbeat sessions, alarms, counters); kinds whose state other queries
 * read (runs, deployments) persist into their own tables instead, where persist() can write the rows those queries
 * need in the same transaction. Events are not stored here: a kind that keeps events writes them in its own persist.
 *
 *   const store = jsonStateStore<Session>('session', () => ({ beats: 0 }));
 *   export const sessionKind: ActorKind<Session, Cmd> = { name: 'session', ...store, handle(...) {...} };
 */
export function jsonStateStore<S>(kind: string, initial: (id: string) => S) {
  return {
    async load(sql: Sql, id: string): Promise<S> {
      const rows = await sql<{ state: S }[]>`SELECT state FROM actor_state WHERE kind = ${kind} AND id = ${id}`;
      return rows[0] ? rows[0].state : initial(id);
    },
    async persist(tx: TxSql, changes: ReadonlyArray<ActorChange<S, unknown>>): Promise<unknown> {
      if (changes.length === 0) return;
      return tx`
        INSERT INTO actor_state (kind, id, state)
        SELECT ${kind}, c.id, c.state FROM unnest(${changes.map((c) => c.id)}::text[], ${changes.map((c) => JSON.stringify(c.state))}::text[]::jsonb[]) AS c(id, state)
        ON CONFLICT (kind, id) DO UPDATE SET state = EXCLUDED.state, version = actor_state.version + 1, updated_at = now()`;
    },
  };
}
