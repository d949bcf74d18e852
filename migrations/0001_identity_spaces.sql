-- Identity and spaces. Users and spaces share one table, as in the original (`accounts`): a user's personal space
-- is the user's own account row (id = user id, type = 'user'); team spaces are rows of type 'team'.

CREATE TABLE accounts (
  id                    text PRIMARY KEY,
  type                  text NOT NULL CHECK (type IN ('user', 'team', 'system')),
  status                text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'deleted')),
  name                  text NOT NULL,
  -- username for users, slug for teams; one namespace, always lower case.
  slug                  text NOT NULL,
  description           text,
  picture               text,
  bio                   text,
  email                 text,
  is_server_admin       boolean NOT NULL DEFAULT false,
  setup_completed       boolean NOT NULL DEFAULT false,
  settings              jsonb NOT NULL DEFAULT '{}'::jsonb,
  default_repository_id text,
  ai_model              text NOT NULL DEFAULT 'gpt-5.4-nano',
  ai_provider           text NOT NULL DEFAULT 'openai',
  security_posture      text NOT NULL DEFAULT 'standard' CHECK (security_posture IN ('standard', 'restricted_egress')),
  owner_account_id      text REFERENCES accounts(id) ON DELETE SET NULL,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX accounts_slug_key ON accounts (lower(slug));
CREATE UNIQUE INDEX accounts_email_key ON accounts (lower(email)) WHERE type = 'user' AND email IS NOT NULL;

CREATE TABLE account_memberships (
  id          text PRIMARY KEY,
  account_id  text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  member_id   text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  role        text NOT NULL DEFAULT 'viewer' CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
  status      text NOT NULL DEFAULT 'active',
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (account_id, member_id)
);
CREATE INDEX account_memberships_member_idx ON account_memberships (member_id);

CREATE TABLE personal_access_tokens (
  id            text PRIMARY KEY,
  account_id    text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name          text NOT NULL,
  token_hash    text NOT NULL UNIQUE,
  token_prefix  text NOT NULL,
  scopes        text NOT NULL DEFAULT '*',
  expires_at    timestamptz,
  last_used_at  timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX personal_access_tokens_account_idx ON personal_access_tokens (account_id, created_at DESC);

-- Repositories: the row a space's default repository needs. Git hosting extends this table in its own migration.
CREATE TABLE repositories (
  id              text PRIMARY KEY,
  account_id      text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name            text NOT NULL,
  description     text,
  visibility      text NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'public', 'internal')),
  default_branch  text NOT NULL DEFAULT 'main',
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (account_id, name)
);
