-- Sign-in identities linked to a user account (identity spec 2.1, 2.5): one row per external provider account.
-- Matched by (provider, provider_sub), never by email. Users created locally (admin API, npm start) have none;
-- a sign-in provider inserts rows here, and GET /api/auth/me lists them.
CREATE TABLE auth_identities (
  id              text PRIMARY KEY,
  user_id         text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  provider        text NOT NULL,
  provider_sub    text NOT NULL,
  email_snapshot  text,
  email_kind      text,
  linked_at       timestamptz NOT NULL DEFAULT now(),
  last_login_at   timestamptz,
  UNIQUE (provider, provider_sub)
);
CREATE INDEX auth_identities_user_idx ON auth_identities (user_id);
