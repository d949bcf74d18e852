/**
 * Per-entity event streams (runs, notification inboxes, deployments). The entity's actor is the only writer: it
 * assigns contiguous ids 1, 2, 3, ... and commits events to Postgres; the stream layer then keeps a recent tail in
 * Redis, fans batches out to every web process, and lets a client resume from any id with no gap and no duplicate.
 */
export interface StreamEvent {
  id: number;
  type: string;
  data: unknown;
  created_at: string;
}

/** The durable history of one kind of entity (its Postgres event table). */
export interface EventHistory {
  /** Events with `id > afterId`, ascending, at most `limit`. */
  readAfter(entityId: string, afterId: number, limit: number): Promise<StreamEvent[]>;
}

/** Told to a reader when events it asked for no longer exist anywhere (retention): it resumes from `firstAvailable`. */
export interface HistoryGone {
  requested_after: number;
  first_available: number;
}
