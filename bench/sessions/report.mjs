// Writes the sessions bench result as bench/results/sessions-<date>.md and .json (same day: overwritten).
// `node bench/sessions/report.mjs <result.json>` re-renders the markdown from a result file (e.g. after adding an
// `analysis` field by hand).
import { writeFileSync } from 'node:fs';
import path from 'node:path';

const n0 = (x) => (x === null || x === undefined ? '-' : Math.round(x).toLocaleString('en-US'));
const n2 = (x) => (x === null || x === undefined ? '-' : x.toFixed(2));

export function writeReport(dir, r) {
  const base = path.join(dir, `sessions-${r.date}`);
  writeFileSync(`${base}.json`, JSON.stringify(r, null, 2) + '\n');
  const s = r.summary;
  const l = r.lateness;
  const met = (ok) => (ok ? 'met' : 'NOT met');
  const lines = [
    `# Sessions benchmark, ${r.date}`,
    '',
    `Heartbeats through \`POST /api/sessions/:id/heartbeat\` on one web process (each request a different one of ${n0(r.config.sessions)} running sessions, with its own signed token) against the Foundation composite baseline (bare uWS, 1 Redis GET + 1 Postgres PK SELECT), side by side in one run; then dead-session detection lateness at ${n0(r.config['lateness sessions'])} sessions.`,
    '',
    `- Throughput goal **>= ${r.goal.ratioMin}x** the baseline: **${met(s.throughputMet)}** (${n2(s.ratio)}x).`,
    `- Lateness goal **p99 <= ${r.goal.latenessP99MaxMs} ms** past the deadline: **${met(s.latenessMet)}** (p99 ${n0(l.latenessMs.p99)} ms).`,
    '',
    '| | baseline | project (heartbeat) | project / baseline |',
    '| --- | ---: | ---: | ---: |',
    `| req/s (median of ${r.config.rounds} rounds) | ${n0(s.baselineRps)} | ${n0(s.projectRps)} | **${n2(s.ratio)}x** |`,
    `| p99 latency, ms (median) | ${n2(s.baselineP99)} | ${n2(s.projectP99)} | |`,
    `| server CPU per request, us (median) | ${n0(s.baselineUsPerReq)} | ${n0(s.projectUsPerReq)} | ${n2(s.cpuRatio)}x |`,
    '',
    '## Rounds',
    '',
    '| round | target | req/s | p50 ms | p99 ms | non-2xx | socket errors | server CPU | us/request | Postgres+Redis CPU | wrk CPU | CPU 0 busy | CPU 1 busy | other processes |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...r.rounds.map(
      (x) =>
        `| ${x.round} | ${x.target} | ${n0(x.rps)} | ${n2(x.p50Ms)} | ${n2(x.p99Ms)} | ${x.non2xx} | ${x.socketErrors} | ${n0(x.serverCpuPct)}% | ${n0(x.serverUsPerReq)} | ${n0(x.servicesCpuPct)}% | ${n0(x.wrkCpuPct)}% | ${n0(x.cores.cpu0)}% | ${n0(x.cores.cpu1)}% | ${n0(x.noisePct)}% |`,
    ),
    '',
    'CPU percentages are of one core over the round. "other processes" is what processes outside the bench took during the round (the machine is shared).',
    '',
    '## Dead-session detection lateness',
    '',
    `${l.warmPassMs ? `A first heartbeat to each of ${n0(l.sessions)} sessions (${n0(l.warmPassMs)} ms: tokens verified, actors activated), then a second one` : `One heartbeat to each of ${n0(l.sessions)} sessions`} through the route (${n0(l.heartbeatsOk)} answered 200, sent in ${n0(l.sendMs)} ms, last heartbeats spread over ${n0(l.heartbeatSpreadMs)} ms, so the deadlines fall as close together), then silence; timeout ${n0(l.timeoutMs)} ms. Lateness = declared dead - (last heartbeat + timeout), on the actor's clock.`,
    '',
    '| dead | not dead | early | min ms | p50 ms | p90 ms | p99 ms | max ms |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${n0(l.dead)} | ${n0(l.notDead)} | ${n0(l.early)} | ${n0(l.latenessMs.min)} | ${n0(l.latenessMs.p50)} | ${n0(l.latenessMs.p90)} | ${n0(l.latenessMs.p99)} | ${n0(l.latenessMs.max)} |`,
    '',
    '## How it was run',
    '',
    '```sh',
    r.command,
    '```',
    '',
    '```sh',
    ...Object.values(r.commands),
    '```',
    '',
    '| config | value |',
    '| --- | --- |',
    ...Object.entries(r.config).map(([k, v]) => `| ${k} | ${v} |`),
    ...Object.entries(r.machine).map(([k, v]) => `| ${k} | ${v} |`),
    '',
    ...(r.profile
      ? [
          '## CPU profile of the project under the heartbeat load',
          '',
          `A fresh project process, warmed up the same way, under the V8 profiler for ${r.config['round length (s)']} s (${n0(r.profile.rps)} req/s while profiled). Self time over the load window; \`dispatch\` is the profiler writing its own output when stopped.`,
          '',
          r.profile.markdown,
          '',
        ]
      : []),
    ...(r.analysis ? ['## Analysis', '', r.analysis, ''] : []),
    ...(r.notes.length ? ['## Notes', '', ...r.notes.map((x) => `- ${x}`), ''] : []),
  ];
  writeFileSync(`${base}.md`, lines.join('\n'));
  return `${base}.md`;
}

if (process.argv[1] && import.meta.url === new URL(`file://${path.resolve(process.argv[1])}`).href) {
  const { readFileSync } = await import('node:fs');
  const file = process.argv[2];
  const r = JSON.parse(readFileSync(file, 'utf8'));
  process.stdout.write(`${writeReport(path.dirname(file), r)}\n`);
}
