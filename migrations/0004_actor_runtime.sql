-- Actor runtime (runtime/actors): partition fencing, idempotency records, durable timers, and a generic JSONB state
-- store for simple actor kinds. See runtime/actors/GUARANTEES.md for what each table guarantees.

-- One row per (kind, partition): the fencing epoch of the process that owns it. Only ever raised (a new owner writes
-- a larger epoch, taking the row lock in partition order); every turn's transaction takes FOR SHARE on its
-- partitions' rows and refuses to commit unless they still hold its epoch (actor_fence below).
CREATE TABLE actor_partitions (
  kind        text NOT NULL,
  partition   integer NOT NULL CHECK (partition >= 0),
  epoch       bigint NOT NULL CHECK (epoch > 0),
  owner       text NOT NULL,
  acquired_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, partition)
);

-- Applied commands, written in the same transaction as the turn that applied them, so that a redelivered command
-- (or a caller's retry with the same command id) is answered with the stored reply instead of being applied again.
-- Pruned by the partition owner after a retention period (the deduplication window).
CREATE TABLE actor_commands (
  kind         text NOT NULL,
  actor_id     text NOT NULL,
  command_id   text NOT NULL,
  partition    integer NOT NULL,
  ok           boolean NOT NULL,
  reply        jsonb,
  committed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, actor_id, command_id)
);
CREATE INDEX actor_commands_prune_idx ON actor_commands (kind, partition, committed_at);

-- Durable timers: at most one per (kind, actor, name); rescheduling replaces it (new timer_id). The owner of the
-- partition polls due rows (fire_at <= now(), Postgres clock) and fires each as a turn whose transaction deletes the
-- row by timer_id, so a timer fires once even when it was due long ago.
CREATE TABLE actor_timers (
  kind      text NOT NULL,
  actor_id  text NOT NULL,
  name      text NOT NULL,
  partition integer NOT NULL,
  fire_at   timestamptz NOT NULL,
  timer_id  text NOT NULL,
  payload   jsonb,
  PRIMARY KEY (kind, actor_id, name)
);
CREATE INDEX actor_timers_due_idx ON actor_timers (kind, partition, fire_at);

-- State of actor kinds that need no tables of their own (runtime/actors/store.ts). Kinds with relational state
-- (runs, deployments) persist into their own tables instead.
CREATE TABLE actor_state (
  kind       text NOT NULL,
  id         text NOT NULL,
  state      jsonb NOT NULL,
  version    bigint NOT NULL DEFAULT 1,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, id)
);

-- The fence of every turn transaction: share-locks the partitions' rows (in partition order, the same order the
-- claim takes them in, so the two never deadlock) and raises SQLSTATE TA001 listing the partitions whose epoch is no
-- longer the caller's. Holding the share lock until commit means a new owner's claim waits for in-flight turns of
-- the old owner, and any turn that starts after the claim sees the new epoch and fails.
CREATE FUNCTION actor_fence(p_kind text, p_partitions integer[], p_epochs bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  lost integer[];
BEGIN
  PERFORM 1 FROM actor_partitions
   WHERE kind = p_kind AND partition = ANY (p_partitions)
   ORDER BY partition
   FOR SHARE;
  SELECT array_agg(f.partition ORDER BY f.partition) INTO lost
    FROM unnest(p_partitions, p_epochs) AS f(partition, epoch)
   WHERE NOT EXISTS (
     SELECT 1 FROM actor_partitions ap
      WHERE ap.kind = p_kind AND ap.partition = f.partition AND ap.epoch = f.epoch);
  IF lost IS NOT NULL THEN
    RAISE EXCEPTION 'actor partitions fenced: % %', p_kind, lost
      USING ERRCODE = 'TA001', DETAIL = array_to_string(lost, ',');
  END IF;
END
$$;
