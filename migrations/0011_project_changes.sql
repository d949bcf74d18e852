-- Which tasks each project version changed (issue 7): a write that bumps projects.version and touches only existing
-- tasks (their row, their dependencies, their runs) records their ids here in the same transaction, so the task board
-- (runtime/tasks/board.ts) reads only those again. A version with no record here (creating a task, a project edit)
-- makes the board read every row, as it did before. Only recent versions are kept (http/api/projects/queries.ts).
CREATE TABLE project_changes (
  project_id  text NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  version     bigint NOT NULL,
  task_ids    text[] NOT NULL,
  PRIMARY KEY (project_id, version)
);
