-- Runtime sessions (spec 5) and agent tasks (workspace spec 11).

-- A runtime session: a working copy of one branch of a space repository, kept alive by heartbeats. The session
-- actor (actors/session) is the only writer of a row after it is created; every heartbeat, transition and timer
-- change is committed in one fenced transaction. Named runtime_sessions so it is never confused with web login
-- sessions (Redis) or browser sessions.
CREATE TABLE runtime_sessions (
  id                  text PRIMARY KEY,
  account_id          text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  user_account_id     text REFERENCES accounts(id) ON DELETE SET NULL,
  repo_id             text NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
  branch              text NOT NULL,
  status              text NOT NULL CHECK (status IN ('initializing', 'running', 'stopped', 'merged', 'discarded', 'dead', 'failed')),
  -- Why the session left `running`/`initializing` without being asked to: heartbeat_timeout, max_age,
  -- init_timeout, init_error.
  ended_reason        text,
  -- Commit the current working copy was checked out at, and the commit `stop` last wrote to the branch.
  base_commit         text,
  head_commit         text,
  last_heartbeat      timestamptz,
  -- When the session last entered `running` (start or resume): the start grace runs from here.
  running_since       timestamptz,
  -- A stop or resume in progress ({op, opId, at}); cleared by its completion, or by the actor's `op` timer when
  -- the process doing the file work died.
  pending_op          jsonb,
  status_changed_at   timestamptz NOT NULL DEFAULT now(),
  -- Timing captured at creation, so that every process judges one session by the same numbers.
  heartbeat_timeout_ms integer NOT NULL CHECK (heartbeat_timeout_ms > 0),
  start_grace_ms      integer NOT NULL CHECK (start_grace_ms >= 0),
  max_age_ms          bigint NOT NULL CHECK (max_age_ms > 0),
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX runtime_sessions_space_idx ON runtime_sessions (account_id, created_at DESC);
CREATE INDEX runtime_sessions_repo_active_idx ON runtime_sessions (repo_id) WHERE status IN ('initializing', 'running');

-- Agent tasks. `plan_run_id` is the planning run still being waited for (POST /plan); when that run ends its
-- output becomes `plan` and the column is cleared (http/api/agent-tasks/plan.ts). `last_run_id` keeps the link.
CREATE TABLE agent_tasks (
  id                     text PRIMARY KEY,
  account_id             text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  created_by_account_id  text REFERENCES accounts(id) ON DELETE SET NULL,
  thread_id              text REFERENCES threads(id) ON DELETE SET NULL,
  last_run_id            text REFERENCES runs(id) ON DELETE SET NULL,
  plan_run_id            text REFERENCES runs(id) ON DELETE SET NULL,
  title                  text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 500),
  description            text,
  status                 text NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'in_progress', 'blocked', 'completed', 'cancelled')),
  priority               text NOT NULL DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
  agent_type             text NOT NULL DEFAULT 'default',
  model                  text,
  plan                   text,
  due_at                 timestamptz,
  started_at             timestamptz,
  completed_at           timestamptz,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_tasks_space_updated_idx ON agent_tasks (account_id, updated_at DESC, id DESC);
CREATE INDEX agent_tasks_plan_run_idx ON agent_tasks (plan_run_id) WHERE plan_run_id IS NOT NULL;
-- latest_run / resume_target of the read model: runs of a thread tree, newest first.
CREATE INDEX runs_root_thread_created_idx ON runs (root_thread_id, created_at DESC, id DESC);
