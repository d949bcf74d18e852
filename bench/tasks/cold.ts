/**
 * Latency of GET /api/projects/:projectId/tasks right after something it shows changed, one mode per run:
 *   - commit:  a task branch gets a new commit (what a task run does): that task's status is derived again and its
 *              reasons name the new tip, so its JSON and every enclosing subtree are rendered again;
 *   - merge:   main gains a merge of another needs_review task branch before each request (what finishing a review
 *              does): the task becomes done, and its dependents and parent change with it;
 *   - scratch: a branch under refs/heads/takos/ that belongs to no task moves: the server must notice and check,
 *              but no status changes;
 *   - write:   a task's title is changed through the API (PATCH, not timed) before each request: the project's
 *              version moves, so the rows are read from the database again and every status derived again.
 * Sequential requests, so each one is measured alone; 10 more first, as warm-up.
 *
 * Env: BENCH_URL (project list URL), BENCH_TOKEN, BENCH_REPO, BENCH_N, BENCH_MODE. Prints one JSON line:
 * {mode, n, p50, p99, max}.
 */
import { execFileSync } from 'node:child_process';

const url = process.env.BENCH_URL!;
const token = process.env.BENCH_TOKEN!;
const repo = process.env.BENCH_REPO!;
const n = Number(process.env.BENCH_N ?? 200);
const mode = process.env.BENCH_MODE ?? 'commit';
const env = { ...process.env, GIT_AUTHOR_NAME: 'Bench', GIT_AUTHOR_EMAIL: 'b@example.test', GIT_COMMITTER_NAME: 'Bench', GIT_COMMITTER_EMAIL: 'b@example.test' };
const git = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', env }).trim();
const auth = { authorization: `Bearer ${token}` };

// Task branches not merged yet: their tasks are needs_review.
const unmerged = git('for-each-ref', '--format=%(refname)', '--no-merged=main', 'refs/heads/takos/').split('\n').filter((r) => r.startsWith('refs/heads/takos/task-'));
if (unmerged.length < 2) throw new Error('the seed left no unmerged task branches');

let change: (i: number) => Promise<void> | void;
if (mode === 'commit') {
  // One branch, flipped between its tip and a child of it, so every request sees a tip it did not see last time.
  const ref = unmerged[0]!;
  const tip = git('rev-parse', ref);
  const child = git('commit-tree', `${tip}^{tree}`, '-p', tip, '-m', 'more work');
  change = (i) => {
    git('update-ref', ref, i % 2 === 0 ? child : tip);
  };
} else if (mode === 'merge') {
  if (unmerged.length < n + 10) throw new Error(`merge mode needs ${n + 10} unmerged task branches, the seed has ${unmerged.length}`);
  change = (i) => {
    const main = git('rev-parse', 'main');
    const merge = git('commit-tree', `${main}^{tree}`, '-p', main, '-p', unmerged[i]!, '-m', `merge ${unmerged[i]}`);
    git('update-ref', 'refs/heads/main', merge);
  };
} else if (mode === 'scratch') {
  const shas = git('rev-list', '-2', 'main').split('\n');
  change = (i) => {
    git('update-ref', 'refs/heads/takos/bench-touch', shas[i % shas.length]!);
  };
} else if (mode === 'write') {
  const list = (await (await fetch(url, { headers: auth })).json()) as { tasks: Array<{ id: string }> };
  const taskId = list.tasks[0]!.id;
  change = async (i) => {
    const r = await fetch(url.replace(/\/projects\/[^/]+\/tasks$/, `/tasks/${taskId}`), {
      method: 'PATCH',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ title: `Epic renamed ${i}` }),
    });
    if (r.status !== 200) throw new Error(`PATCH answered ${r.status}: ${await r.text()}`);
  };
} else {
  throw new Error(`unknown BENCH_MODE ${mode}`);
}

const times: number[] = [];
for (let i = 0; i < n + 10; i++) {
  await change(i);
  const t0 = performance.now();
  const r = await fetch(url, { headers: auth });
  await r.arrayBuffer();
  const ms = performance.now() - t0;
  if (r.status !== 200) throw new Error(`status ${r.status}`);
  if (i >= 10) times.push(ms);
}
times.sort((a, b) => a - b);
const pct = (p: number) => times[Math.min(times.length - 1, Math.ceil((p / 100) * times.length) - 1)]!;
process.stdout.write(`${JSON.stringify({ mode, n: times.length, p50: pct(50), p99: pct(99), max: times[times.length - 1] })}\n`);
