-- Notifications (spec 4) and reminders (workspace spec 7). The inbox actor (actors/inbox) is the only writer of a
-- user's notifications, preferences and settings; the reminder actor (actors/reminder) is the only writer of a
-- reminder row after it is created, and owns its durable timer.

-- One row per user who has ever had an inbox turn: the counters the inbox actor resumes from, and the mute.
CREATE TABLE notification_inboxes (
  user_id          text PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  -- Last per-user stream id handed out (1, 2, 3, ...): the realtime event id clients resume from.
  last_stream_id   integer NOT NULL DEFAULT 0 CHECK (last_stream_id >= 0),
  -- created_at of the newest notification; the next one gets a strictly later millisecond, so `before` pages
  -- (which compare created_at at millisecond precision) can never split or skip a tie.
  last_created_at  timestamptz,
  muted_until      timestamptz,
  updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE notifications (
  id          text PRIMARY KEY,
  user_id     text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  -- No foreign key: a notification is a record of something that happened in a space, kept when the space goes.
  space_id    text,
  type        text NOT NULL,
  title       text NOT NULL,
  body        text,
  data        jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- Set only for notifications pushed live (in_app on, not muted): contiguous per user among those.
  stream_id   integer CHECK (stream_id > 0),
  read_at     timestamptz,
  created_at  timestamptz NOT NULL
);
CREATE INDEX notifications_user_created_idx ON notifications (user_id, created_at DESC);
CREATE UNIQUE INDEX notifications_user_stream_idx ON notifications (user_id, stream_id) WHERE stream_id IS NOT NULL;
CREATE INDEX notifications_user_unread_idx ON notifications (user_id, type) WHERE read_at IS NULL;

-- Only rows that differ from nothing: a missing (user, type, channel) means the catalogue's default.
CREATE TABLE notification_preferences (
  user_id  text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  type     text NOT NULL,
  channel  text NOT NULL CHECK (channel IN ('in_app', 'email', 'push')),
  enabled  boolean NOT NULL,
  PRIMARY KEY (user_id, type, channel)
);

CREATE TABLE reminders (
  id             text PRIMARY KEY,
  space_id       text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  -- The creator: the user the reminder notifies.
  user_id        text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  content        text NOT NULL,
  context        text,
  trigger_type   text NOT NULL CHECK (trigger_type IN ('time', 'condition', 'context')),
  trigger_value  text,
  -- trigger_value parsed, for `time` reminders: when the reminder's durable timer fires.
  due_at         timestamptz,
  status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'triggered', 'completed', 'dismissed')),
  triggered_at   timestamptz,
  priority       text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'critical')),
  -- Firings so far, and how many of them reached the owner's inbox (the command id of firing n is reminder:<id>:<n>).
  fire_count     integer NOT NULL DEFAULT 0,
  delivered_count integer NOT NULL DEFAULT 0,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reminders_space_idx ON reminders (space_id, created_at DESC);
