-- Agent runs (spec 3). The run actor (actors/run) is the only writer of a run's status and events after the row
-- is created; `last_event_id` is its contiguous per-run event counter (1, 2, 3, ...), the id clients resume from.

CREATE TABLE runs (
  id                    text PRIMARY KEY,
  thread_id             text NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
  account_id            text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  requester_account_id  text REFERENCES accounts(id) ON DELETE SET NULL,
  session_id            text,
  parent_run_id         text REFERENCES runs(id) ON DELETE SET NULL,
  child_thread_id       text,
  root_thread_id        text NOT NULL,
  root_run_id           text NOT NULL,
  depth                 integer NOT NULL DEFAULT 0,
  agent_type            text NOT NULL DEFAULT 'default',
  status                text NOT NULL DEFAULT 'queued' CHECK (status IN ('pending', 'queued', 'running', 'completed', 'failed', 'cancelled')),
  last_event_id         integer NOT NULL DEFAULT 0,
  -- JSON text of the request's `input` object, exposed as a string like the original.
  input                 text NOT NULL DEFAULT '{}',
  -- The model asked for at creation (the original kept it only in the queue message).
  model                 text,
  output                text,
  error                 text,
  usage                 text NOT NULL DEFAULT '{}',
  worker_id             text,
  worker_heartbeat      timestamptz,
  lease_version         integer NOT NULL DEFAULT 0,
  attempts              integer NOT NULL DEFAULT 0,
  started_at            timestamptz,
  completed_at          timestamptz,
  created_at            timestamptz NOT NULL DEFAULT now()
);
-- Thread run lists: newest first with the (created_at, id) cursor.
CREATE INDEX runs_thread_created_idx ON runs (thread_id, created_at DESC, id DESC);
-- Rate limits: runs a requester created recently, and active runs per space.
CREATE INDEX runs_requester_created_idx ON runs (requester_account_id, created_at DESC);
CREATE INDEX runs_space_active_idx ON runs (account_id) WHERE status IN ('pending', 'queued', 'running');
CREATE INDEX runs_parent_idx ON runs (parent_run_id) WHERE parent_run_id IS NOT NULL;

CREATE TABLE run_events (
  run_id      text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  id          integer NOT NULL CHECK (id > 0),
  type        text NOT NULL CHECK (char_length(type) BETWEEN 1 AND 256),
  data        jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, id)
);

CREATE TABLE artifacts (
  id          text PRIMARY KEY,
  run_id      text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  account_id  text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  type        text NOT NULL CHECK (type IN ('code', 'config', 'doc', 'patch', 'report', 'other')),
  title       text,
  content     text,
  file_id     text,
  metadata    text NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX artifacts_run_idx ON artifacts (run_id, created_at);
