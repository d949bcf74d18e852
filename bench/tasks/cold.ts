/**
 * Cache-miss latency of GET /api/projects/:projectId/tasks: before every request the repository's refs change (a
 * scratch branch under refs/heads/takos/ is moved), so each answer is derived from scratch: three database reads,
 * two git calls, the derivation and the JSON rendering. Sequential requests, so each one is measured alone.
 *
 * Env: BENCH_URL (project list URL), BENCH_TOKEN, BENCH_REPO, BENCH_N. Prints one JSON line: {p50, p99, max, n}.
 */
import { execFileSync } from 'node:child_process';

const url = process.env.BENCH_URL!;
const token = process.env.BENCH_TOKEN!;
const repo = process.env.BENCH_REPO!;
const n = Number(process.env.BENCH_N ?? 200);
const shas = execFileSync('git', ['-C', repo, 'rev-list', '-2', 'main'], { encoding: 'utf8' }).trim().split('\n');

const times: number[] = [];
for (let i = 0; i < n + 10; i++) {
  execFileSync('git', ['-C', repo, 'update-ref', 'refs/heads/takos/bench-touch', shas[i % shas.length]!]);
  const t0 = performance.now();
  const r = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  await r.arrayBuffer();
  const ms = performance.now() - t0;
  if (r.status !== 200) throw new Error(`status ${r.status}`);
  if (i >= 10) times.push(ms);
}
times.sort((a, b) => a - b);
const pct = (p: number) => times[Math.min(times.length - 1, Math.ceil((p / 100) * times.length) - 1)]!;
process.stdout.write(`${JSON.stringify({ n: times.length, p50: pct(50), p99: pct(99), max: times[times.length - 1] })}\n`);
