-- Threads, their messages and public shares (spec 8, 9). A thread belongs to a space (`account_id`, as in the
-- original); deleting a space deletes its threads, messages and shares.

-- Keyword search is a case-insensitive substring match (ILIKE '%q%'), served by trigram GIN indexes. Why trigrams
-- and not tsvector full-text: thread content is Japanese as often as English, and Postgres text-search
-- configurations do not segment Japanese (a whole sentence becomes one lexeme, so a word inside it never matches);
-- trigrams match any substring in any script, give the exact match offsets the API reports as `match:{start,end}`,
-- and keep the original's LIKE semantics. pg_trgm is a trusted extension (PG 13+): a database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE threads (
  id               text PRIMARY KEY,
  account_id       text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  title            text,
  locale           text CHECK (locale IN ('ja', 'en')),
  status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived', 'deleted')),
  summary          text,
  -- JSON text, exposed as a string like the original.
  key_points       text NOT NULL DEFAULT '[]',
  retrieval_index  integer NOT NULL DEFAULT -1,
  context_window   integer NOT NULL DEFAULT 50 CHECK (context_window BETWEEN 20 AND 200),
  -- Per-thread message counter: the sequence of the next message. Appending a message increments it with an
  -- UPDATE in the same transaction as the INSERT, so the row lock serialises concurrent posts to one thread
  -- (contiguous, distinct sequences) while posts to different threads never wait for each other; a rolled-back
  -- append rolls the counter back too, so no gap is left.
  next_sequence    integer NOT NULL DEFAULT 0,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
-- The space's thread list: newest activity first, optionally one status.
CREATE INDEX threads_account_updated_idx ON threads (account_id, updated_at DESC, id DESC);

CREATE TABLE messages (
  id            text PRIMARY KEY,
  thread_id     text NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
  role          text NOT NULL CHECK (role IN ('user', 'assistant', 'system', 'tool')),
  content       text NOT NULL DEFAULT '',
  -- JSON text (array) or null, exposed as a string like the original.
  tool_calls    text,
  tool_call_id  text,
  -- JSON text (object), exposed as a string like the original.
  metadata      text NOT NULL DEFAULT '{}',
  sequence      integer NOT NULL CHECK (sequence >= 0),
  created_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT messages_thread_sequence_key UNIQUE (thread_id, sequence)
);
CREATE INDEX messages_content_trgm_idx ON messages USING gin (content gin_trgm_ops);

CREATE TABLE thread_shares (
  id                     uuid PRIMARY KEY,
  thread_id              text NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
  account_id             text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  created_by_account_id  text REFERENCES accounts(id) ON DELETE SET NULL,
  -- 32-char base64url of 24 random bytes; the bearer secret of a public link.
  token                  text NOT NULL UNIQUE,
  mode                   text NOT NULL DEFAULT 'public' CHECK (mode IN ('public', 'password')),
  -- "scrypt$N$r$p$<salt>$<hash>" (base64url); set exactly when mode = 'password'.
  password_hash          text,
  expires_at             timestamptz,
  revoked_at             timestamptz,
  last_accessed_at       timestamptz,
  created_at             timestamptz NOT NULL DEFAULT now(),
  CHECK ((mode = 'password') = (password_hash IS NOT NULL))
);
CREATE INDEX thread_shares_thread_idx ON thread_shares (thread_id, created_at DESC);
