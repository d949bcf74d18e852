/**
 * Seeds the tasks bench: a real Git repository under `$TAKOS_DATA_DIR/projects/bench` and a 5,000-task project on
 * it, written straight into the database (the bench measures the list endpoint, not 5,000 POSTs).
 *
 * Shape: 500 top-level epics with 9 subtasks each. Inside an epic, subtask i depends on subtask i-1 (a chain), except
 * in every 7th epic, whose subtasks are independent; every 5th epic depends on the previous epic (subtasks inherit
 * that). Subtasks 0-2 of each epic have a task branch with one commit and a completed run (not subtask 2 in every
 * 4th epic), and the branches of subtasks 0-1 are merged into main (one octopus merge written by fast-import), so the
 * board mixes done, needs_review, ready, blocked and open tasks. Every branch is a real ref the server reads.
 *
 * Env: DATABASE_URL, TAKOS_DATA_DIR (the database must be migrated). Prints one JSON line.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createDb } from '../../runtime/db.ts';
import { newId } from '../../runtime/ids.ts';
import { createPat, createUser } from '../../runtime/identity/users.ts';

const EPICS = 500;
const PER_EPIC = 9;

const dataDir = process.env.TAKOS_DATA_DIR;
if (!process.env.DATABASE_URL || !dataDir) throw new Error('DATABASE_URL and TAKOS_DATA_DIR are required');
const repo = path.join(path.resolve(dataDir), 'projects', 'bench');
const env = { ...process.env, GIT_AUTHOR_NAME: 'Bench', GIT_AUTHOR_EMAIL: 'b@example.test', GIT_COMMITTER_NAME: 'Bench', GIT_COMMITTER_EMAIL: 'b@example.test' };
const git = (args: string[], input?: string) => execFileSync('git', ['-C', repo, ...args], { env, encoding: 'utf8', input, maxBuffer: 256 << 20 }).trim();

mkdirSync(repo, { recursive: true });
git(['init', '-q', '-b', 'main']);
writeFileSync(path.join(repo, 'README.md'), '# bench\n');
git(['add', '-A']);
git(['commit', '-q', '-m', 'initial']);
const base = git(['rev-parse', 'HEAD']);

const tasks: Array<{ id: string; parent: string | null; branch: boolean; merged: boolean }> = [];
const deps: Array<[string, string]> = [];
const epics: string[] = [];
for (let e = 0; e < EPICS; e++) {
  const epic = newId();
  epics.push(epic);
  tasks.push({ id: epic, parent: null, branch: false, merged: false });
  if (e % 5 === 0 && e > 0) deps.push([epic, epics[e - 1]!]);
  let prev: string | null = null;
  for (let i = 0; i < PER_EPIC; i++) {
    const id = newId();
    tasks.push({ id, parent: epic, branch: i < 2 || (i === 2 && e % 4 !== 3), merged: i < 2 });
    if (prev && e % 7 !== 0) deps.push([id, prev]);
    prev = id;
  }
}
const branched = tasks.filter((t) => t.branch);
const merged = branched.filter((t) => t.merged);

// One fast-import stream: a commit per task branch, then one merge commit on main with the merged ones as parents.
let stream = '';
const data = (s: string) => `data ${Buffer.byteLength(s)}\n${s}\n`;
branched.forEach((t, i) => {
  stream += `commit refs/heads/takos/task-${t.id}\nmark :${i + 1}\ncommitter Bench <b@example.test> 1700000000 +0000\n${data(`task ${t.id}`)}from ${base}\nM 644 inline work/${t.id}.txt\n${data(`work of ${t.id}\n`)}\n`;
});
const mergedMarks = branched.map((t, i) => (t.merged ? i + 1 : 0)).filter(Boolean);
stream += `commit refs/heads/main\ncommitter Bench <b@example.test> 1700000001 +0000\n${data('merge finished tasks')}from ${base}\n${mergedMarks.map((m) => `merge :${m}\n`).join('')}\n`;
git(['fast-import', '--quiet'], stream);
git(['reset', '-q', '--hard', 'main']);
const tips = new Map(git(['for-each-ref', '--format=%(refname:lstrip=3) %(objectname)', 'refs/heads/takos/']).split('\n').map((l) => l.split(' ') as [string, string]));

const sql = createDb({ url: process.env.DATABASE_URL, max: 2 });
try {
  const out = await sql.begin(async (tx) => {
    const user = await createUser(tx, { username: `bench${newId().slice(0, 6)}`, email: null, name: 'Bench' });
    const pat = await createPat(tx, user.id, 'tasks bench');
    const projectId = newId();
    await tx`INSERT INTO projects (id, space_id, created_by, name, repo_path, base_branch) VALUES (${projectId}, ${user.id}, ${user.id}, 'bench', ${repo}, 'main')`;
    // created_at spaced 1 ms apart keeps the creation order stable.
    await tx`
      INSERT INTO tasks (id, project_id, parent_id, title, description, write_scope, created_at)
      SELECT id, ${projectId}, NULLIF(parent, ''), 'Task ' || ord, 'Benchmark task number ' || ord, ARRAY['src/**', 'test/**'],
             now() - interval '1 day' + ord * interval '1 millisecond'
      FROM unnest(${tasks.map((t) => t.id)}::text[], ${tasks.map((t) => t.parent ?? '')}::text[]) WITH ORDINALITY AS x(id, parent, ord)`;
    await tx`
      INSERT INTO task_dependencies (task_id, depends_on_task_id)
      SELECT a, b FROM unnest(${deps.map((d) => d[0])}::text[], ${deps.map((d) => d[1])}::text[]) AS x(a, b)`;
    await tx`
      INSERT INTO task_runs (id, task_id, status, agent, write_scope, branch, base_sha, branch_created, head_sha, committed_files, started_at, completed_at)
      SELECT r, t, 'completed', 'manual', ARRAY['src/**'], 'takos/task-' || t, ${base}, true, h, '["work.txt"]'::jsonb, now(), now()
      FROM unnest(${branched.map(() => newId())}::text[], ${branched.map((t) => t.id)}::text[], ${branched.map((t) => tips.get(`task-${t.id}`) ?? null)}::text[]) AS x(r, t, h)`;
    return { token: pat.token, projectId };
  });
  process.stdout.write(`${JSON.stringify({ ...out, repo, tasks: tasks.length, dependencies: deps.length, branches: branched.length, merged: merged.length })}\n`);
} finally {
  await sql.end({ timeout: 5 });
}
