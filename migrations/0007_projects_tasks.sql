-- Projects and tasks (issue 7): a project points at a Git repository on the server's disk; tasks form a tree
-- (parent_id) and a dependency DAG (task_dependencies). A task's status is NOT stored: it is derived on read from
-- cancelled_at, its latest task run and the repository's refs (runtime/tasks/derive.ts, docs/task-status.md).

CREATE TABLE projects (
  id           text PRIMARY KEY,
  -- Projects belong to a space (a user's personal space or a team); access follows space membership.
  space_id     text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  created_by   text REFERENCES accounts(id) ON DELETE SET NULL,
  name         text NOT NULL,
  -- Canonical (realpath) top level of the repository, checked against TAKOS_PROJECT_ROOTS at registration.
  repo_path    text NOT NULL,
  base_branch  text NOT NULL,
  -- Bumped in the same transaction as every change to the project's tasks, dependencies or task runs, so readers
  -- can cache derived statuses by (version, repository ref state).
  version      bigint NOT NULL DEFAULT 0,
  -- Deleting a project hides it; its tasks, task runs, branches and worktrees are kept (seed: not deleted).
  deleted_at   timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projects_space_idx ON projects (space_id, created_at) WHERE deleted_at IS NULL;

CREATE TABLE tasks (
  id            text PRIMARY KEY,
  project_id    text NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  -- Set at creation only (no API moves a task), always a task of the same project.
  parent_id     text REFERENCES tasks(id) ON DELETE CASCADE,
  title         text NOT NULL,
  description   text NOT NULL DEFAULT '',
  write_scope   text[] NOT NULL CHECK (cardinality(write_scope) >= 1),
  created_by    text REFERENCES accounts(id) ON DELETE SET NULL,
  cancelled_at  timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_project_idx ON tasks (project_id, created_at, id);
CREATE INDEX tasks_parent_idx ON tasks (parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE task_dependencies (
  task_id             text NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  depends_on_task_id  text NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  created_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (task_id, depends_on_task_id),
  CHECK (task_id <> depends_on_task_id)
);
CREATE INDEX task_dependencies_reverse_idx ON task_dependencies (depends_on_task_id);

CREATE TABLE task_runs (
  id              text PRIMARY KEY,
  task_id         text NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  status          text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
  -- 'manual' (edits given in the request) or 'model' (edits parsed from a model reply).
  agent           text NOT NULL,
  created_by      text REFERENCES accounts(id) ON DELETE SET NULL,
  -- The write_scope in force for this run (a PATCH during the run applies from the next run).
  write_scope     text[] NOT NULL,
  -- What the agent was given: manual edits or the model request; kept so a run can be understood afterwards.
  input           jsonb NOT NULL DEFAULT '{}'::jsonb,
  branch          text NOT NULL,
  -- The commit the run started from (the branch tip, or base_branch's tip when this run created the branch).
  base_sha        text,
  -- True when this run created the task branch: its base_sha is then the branch's fork point, and a branch still
  -- at its fork point holds no work of the task (so being "merged" does not make the task done).
  branch_created  boolean NOT NULL DEFAULT false,
  head_sha        text,
  committed_files jsonb NOT NULL DEFAULT '[]'::jsonb,
  rejected_files  jsonb NOT NULL DEFAULT '[]'::jsonb,
  error           text,
  -- Written every few seconds by the executing process; a queued/running run without a recent heartbeat was lost
  -- with its process and counts as failed.
  heartbeat_at    timestamptz NOT NULL DEFAULT now(),
  created_at      timestamptz NOT NULL DEFAULT now(),
  started_at      timestamptz,
  completed_at    timestamptz
);
CREATE INDEX task_runs_task_idx ON task_runs (task_id, created_at DESC, id DESC);
-- At most one live run per task.
CREATE UNIQUE INDEX task_runs_one_live_idx ON task_runs (task_id) WHERE status IN ('queued', 'running');
