import type { Sql } from '../db.ts';
import { RUN_COLS, type TaskRunRow } from './run-row.ts';

/**
 * The three reads a project's board is derived from; see board.ts for when they run.
 *
 * A task's stored fields come back as one JSON text rendered by Postgres (`json`: id, project_id, parent_id, title,
 * description, write_scope, cancelled_at, created_at, updated_at, timestamps as ISO strings with milliseconds), so
 * the list endpoint splices text instead of parsing arrays and dates and re-serialising them: for 5,000 tasks this
 * took the load + render from ~60 ms to ~15 ms of server CPU.
 */
export interface BoardTaskRow {
  id: string;
  parent_id: string | null;
  title: string;
  cancelled_at: Date | null;
  json: string;
  /** md5 of `json`, computed by Postgres: tells a reload which rows it must fetch again. */
  hash: string;
}

export interface BoardRows {
  tasks: BoardTaskRow[];
  deps: Array<{ task_id: string; depends_on_task_id: string }>;
  latest: Array<TaskRunRow & { fork_sha: string | null }>;
}

/**
 * `known`: the rows of the last load, by id. A reload first reads every task's hash (~80 bytes a row), then the
 * JSON of the tasks whose hash is new only, and hands back the known row object for every other task: after a
 * write to one task of 5,000 this avoids fetching and decoding ~1.5 MB of JSON text (bench:tasks --profile had
 * postgres.js decoding and the garbage it left at half of a reload's CPU), and renderers keep their cache, which is
 * keyed by row object (list-render.ts). A task written between the two reads comes back with its newer JSON and
 * the older hash, so the next reload fetches it again.
 */
/** A task row's stored fields as one JSON text (see BoardTaskRow.json), rendered by Postgres. */
function taskJson(sql: Sql) {
  const ISO = (col: string) => sql.unsafe(`to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);
  return sql`
    '{"id":' || to_json(id) || ',"project_id":' || to_json(project_id) || ',"parent_id":' || COALESCE(to_json(parent_id)::text, 'null')
    || ',"title":' || to_json(title) || ',"description":' || to_json(description) || ',"write_scope":' || to_json(write_scope)
    || ',"cancelled_at":' || COALESCE(to_json(${ISO('cancelled_at')})::text, 'null') || ',"created_at":' || to_json(${ISO('created_at')})
    || ',"updated_at":' || to_json(${ISO('updated_at')}) || '}'`;
}

/** The latest run per task of `taskIds` (all of the project's when null), with the task branch's fork point. */
function latestRuns(sql: Sql, projectId: string, taskIds: string[] | null) {
  // The fork point: base_sha of the latest run that created the branch.
  return sql<Array<TaskRunRow & { fork_sha: string | null }>>`
    SELECT DISTINCT ON (r.task_id) ${sql.unsafe(RUN_COLS)},
           (SELECT f.base_sha FROM task_runs f WHERE f.task_id = r.task_id AND f.branch_created
            ORDER BY f.created_at DESC, f.id DESC LIMIT 1) AS fork_sha
    FROM task_runs r JOIN tasks t ON t.id = r.task_id
    WHERE t.project_id = ${projectId} ${taskIds === null ? sql`` : sql`AND r.task_id = ANY(${taskIds}::text[])`}
    ORDER BY r.task_id, r.created_at DESC, r.id DESC`;
}

/** Dependencies of `taskIds` (all of the project's when null), in the order every read lists them. */
function dependencies(sql: Sql, projectId: string, taskIds: string[] | null) {
  return sql<Array<{ task_id: string; depends_on_task_id: string }>>`
    SELECT d.task_id, d.depends_on_task_id
    FROM task_dependencies d JOIN tasks t ON t.id = d.task_id
    WHERE t.project_id = ${projectId} ${taskIds === null ? sql`` : sql`AND d.task_id = ANY(${taskIds}::text[])`}
    ORDER BY d.created_at, d.depends_on_task_id`;
}

/**
 * The rows of the `changed` tasks only, read again (the project change log named them: changes.ts): after a write to
 * a few existing tasks, three small reads instead of every row; the board patches them into what it has. Null when
 * that cannot give what a full read would (a changed task unknown to the caller, or gone), and the caller reads
 * everything.
 */
export async function loadChangedRows(sql: Sql, projectId: string, known: ReadonlyMap<string, BoardTaskRow>, changed: ReadonlySet<string>): Promise<BoardRows | null> {
  const ids = [...changed];
  if (ids.some((id) => !known.has(id))) return null;
  const [tasks, deps, latest] = await Promise.all([taskRows(sql, projectId, ids), dependencies(sql, projectId, ids), latestRuns(sql, projectId, ids)]);
  if (tasks.length !== ids.length) return null;
  return { tasks, deps, latest };
}

/** The rows of the tasks `ids` of the project, with their JSON and its hash. */
function taskRows(sql: Sql, projectId: string, ids: string[]) {
  const json = taskJson(sql);
  return sql<BoardTaskRow[]>`
    SELECT id, parent_id, title, cancelled_at, ${json} AS json, md5(${json}) AS hash
    FROM tasks WHERE project_id = ${projectId} AND id = ANY(${ids}::text[])`;
}

export async function loadBoardRows(sql: Sql, projectId: string, known?: ReadonlyMap<string, BoardTaskRow>): Promise<BoardRows> {
  const [heads, deps, latest] = await Promise.all([
    sql<Array<{ id: string; hash: string }>>`
      SELECT id, md5(${taskJson(sql)}) AS hash FROM tasks WHERE project_id = ${projectId} ORDER BY created_at, id`,
    dependencies(sql, projectId, null),
    latestRuns(sql, projectId, null),
  ]);
  const wanted = heads.filter((h) => known?.get(h.id)?.hash !== h.hash).map((h) => h.id);
  const fetched = new Map<string, BoardTaskRow>();
  if (wanted.length > 0) for (const r of await taskRows(sql, projectId, wanted)) fetched.set(r.id, r);
  const tasks: BoardTaskRow[] = [];
  for (const h of heads) {
    const f = fetched.get(h.id);
    if (f) {
      // The hash of the first read: a task written between the two reads is fetched again by the next reload.
      tasks.push({ ...f, hash: h.hash });
    } else {
      const k = known?.get(h.id);
      // Gone between the two reads (tasks are not deleted today): left out, as a later read would.
      if (k) tasks.push(k);
    }
  }
  return { tasks, deps, latest };
}
