/**
 * Latency of GET /api/projects/:projectId/tasks right after something it shows changed, one mode per run:
 *   - commit:  a task branch gets a new commit on its tip (what a task run does): that task's status is derived again and its
 *              reasons name the new tip, so its JSON and every enclosing subtree are rendered again;
 *   - merge:   main gains a merge of another needs_review task branch before each request (what finishing a review
 *              does): the task becomes done, and its dependents and parent change with it;
 *   - scratch: a branch under refs/heads/takos/ that belongs to no task moves: the server must notice and check,
 *              but no status changes;
 *   - write:   a task's title is changed through the API (PATCH, not timed) before each request: the project's
 *              version moves, so the rows are read from the database again and every status derived again.
 *   - none:    nothing changes (the warm path, one request at a time).
 * Sequential requests, so each one is measured alone; 10 more first, as warm-up.
 *
 * Env: BENCH_URL (project list URL), BENCH_TOKEN, BENCH_REPO, BENCH_N, BENCH_MODE, BENCH_CLIENT (curl, the default, or
 * fetch). Prints one JSON line: {mode, client, n, p50, p99, max, slowest}.
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
  // One branch gains a new commit on top of its tip before each request, as a run committing its work does.
  const ref = unmerged[0]!;
  let tip = git('rev-parse', ref);
  change = (i) => {
    tip = git('commit-tree', `${tip}^{tree}`, '-p', tip, '-m', `more work ${i}`);
    git('update-ref', ref, tip);
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
} else if (mode === 'none') {
  // Nothing changes: one request at a time from the cache, the warm path without wrk's queueing.
  change = () => undefined;
} else {
  throw new Error(`unknown BENCH_MODE ${mode}`);
}

// curl (C, libcurl) by default: Node's fetch spends ~8 ms of its own receiving and buffering the 2.45 MB answer,
// which is the measuring client, not the server (perf/ceilings.md: a non-Node client where Node would be the limit).
// curl's time_total runs from before the connection to the last byte read; the process start is not in it.
const client = process.env.BENCH_CLIENT ?? 'curl';
if (client !== 'curl' && client !== 'fetch') throw new Error(`unknown BENCH_CLIENT ${client}`);
function viaCurl(): number {
  const out = execFileSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %{time_total}', '-H', `authorization: Bearer ${token}`, url], { encoding: 'utf8' });
  const [code, seconds] = out.trim().split(' ');
  if (code !== '200') throw new Error(`status ${code}`);
  return Number(seconds) * 1000;
}
async function viaFetch(): Promise<number> {
  const t0 = performance.now();
  const r = await fetch(url, { headers: auth });
  await r.arrayBuffer();
  if (r.status !== 200) throw new Error(`status ${r.status}`);
  return performance.now() - t0;
}

const times: number[] = [];
const started = performance.now();
const slowest: Array<{ i: number; at: number; ms: number }> = [];
// The change's own duration, for the one mode whose change is a request to the server (write: the PATCH).
const changeTimes: number[] = [];
for (let i = 0; i < n + 10; i++) {
  const c0 = performance.now();
  await change(i);
  if (i >= 10) changeTimes.push(performance.now() - c0);
  const t0 = performance.now();
  const ms = client === 'curl' ? viaCurl() : await viaFetch();
  if (i >= 10) {
    times.push(ms);
    slowest.push({ i, at: Math.round(t0 - started), ms: Math.round(ms * 10) / 10 });
  }
}
times.sort((a, b) => a - b);
changeTimes.sort((a, b) => a - b);
slowest.sort((a, b) => b.ms - a.ms);
const pctOf = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
const pct = (p: number) => pctOf(times, p);
// The slowest requests, with when they started (ms into the run): a tail of one kind lines up with its cause.
process.stdout.write(`${JSON.stringify({ mode, client, n: times.length, p50: pct(50), p99: pct(99), max: times[times.length - 1], slowest: slowest.slice(0, 5), ...(mode === 'write' ? { patchP50: pctOf(changeTimes, 50), patchP99: pctOf(changeTimes, 99) } : {}) })}\n`);
