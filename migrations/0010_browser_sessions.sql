-- Browser sessions (spec 6). The browser-session actor (actors/browser-session) is the only writer of a row; the
-- page itself lives in the browser worker named by worker_id. A row outlives its page: after a worker crash or an
-- idle timeout the row says `failed`/`stopped` with the reason, so GET never turns into a 404 for a session that
-- existed (the original kept this state in actor memory only).
CREATE TABLE browser_sessions (
  id            text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
  owner_id      text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  space_id      text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  worker_id     text NOT NULL,
  status        text NOT NULL CHECK (status IN ('starting', 'active', 'stopped', 'failed')),
  -- Why the session ended when nobody asked it to: idle_timeout, max_lifetime, worker_lost, browser_crashed, ...
  reason        text,
  reason_message text,
  url           text NOT NULL DEFAULT '',
  viewport      jsonb NOT NULL,
  created_at    timestamptz NOT NULL,
  last_used_at  timestamptz NOT NULL,
  expires_at    timestamptz NOT NULL,
  ended_at      timestamptz
);
CREATE INDEX browser_sessions_owner ON browser_sessions (owner_id, created_at DESC);
CREATE INDEX browser_sessions_live_worker ON browser_sessions (worker_id) WHERE status IN ('starting', 'active');
