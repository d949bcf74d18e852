-- A space's environment variables ("common env", spec workspace 2), e.g. the provider keys its agent runs use
-- (workers/runs/model/select.ts). Names are stored canonical (upper case), so two rows cannot differ by case only;
-- values are encrypted (runtime/secrets/env-cipher.ts).
CREATE TABLE space_env_vars (
  space_id         text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name             text NOT NULL CHECK (name ~ '^[A-Z_][A-Z0-9_]*$'),
  value_encrypted  text NOT NULL,
  is_secret        boolean NOT NULL DEFAULT false,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (space_id, name)
);

-- Who changed which variable, never its value: before/after are {exists, is_secret, value_changed?}.
CREATE TABLE space_env_audit_logs (
  id          text PRIMARY KEY,
  space_id    text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name        text NOT NULL,
  action      text NOT NULL CHECK (action IN ('workspace_env_created', 'workspace_env_updated', 'workspace_env_deleted')),
  before      jsonb NOT NULL,
  after       jsonb NOT NULL,
  actor_id    text,
  request_id  text,
  ip_hash     text,
  user_agent  text,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX space_env_audit_logs_space ON space_env_audit_logs (space_id, created_at);
