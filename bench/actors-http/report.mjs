// bench/results/actors-http-<date>.{md,json}: rounds, medians, ratios, goals.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fmt, mdTable, median } from '../lib/harness.mjs';

const { n0, n1, n2 } = fmt;

export function summarizeActors(rounds, { connections }) {
  const side = (t) => {
    const rs = rounds.filter((r) => r.target === t);
    return {
      rpsMedian: median(rs.map((r) => r.rps)),
      p50MedianMs: median(rs.map((r) => r.p50Ms)),
      p99MedianMs: median(rs.map((r) => r.p99Ms)),
      p99WorstMs: Math.max(...rs.map((r) => r.p99Ms)),
      serverUsPerReqMedian: median(rs.map((r) => r.serverUsPerReq)),
      serverCpuPctMedian: median(rs.map((r) => r.serverCpuPct)),
      wrkCpuPctMedian: median(rs.map((r) => r.wrkCpuPct)),
      durable: rs.every((r) => r.durable !== false),
      errors: rs.reduce((s, r) => s + r.non2xx + r.socketErrors, 0),
    };
  };
  const baseline = side('baseline');
  const many = side('many');
  const hot = side('hot');
  const ratioMany = many.rpsMedian / baseline.rpsMedian;
  return {
    connections,
    baseline,
    many,
    hot,
    ratioMany,
    ratioHot: hot.rpsMedian / baseline.rpsMedian,
    goals: {
      many: { min: 0.5, p99MaxMs: 20, met: ratioMany >= 0.5 && many.p99WorstMs < 20 && many.durable && many.errors === 0 },
      hot: { minTurnsPerS: 2000, p99MaxMs: 20, met: hot.rpsMedian >= 2000 && hot.p99WorstMs < 20 && hot.durable && hot.errors === 0 },
    },
  };
}

export function actorsMarkdown(r) {
  const s = r.summary;
  const out = [`# Actor turns through the HTTP front, ${r.date}`, ''];
  out.push(
    'Issue 4, item 6 (e): `POST /bench/actors/:key/add` on the product HTTP front (bench-only route, PAT auth) -> actor turn -> fenced group commit in Postgres -> reply, ' +
      `against the Foundation composite baseline (uWS + 1 Redis GET + 1 PG PK SELECT), wrk at ${s.connections} connections, side by side in one run.`,
    '',
  );
  const verdict = (m) => (m ? 'met' : 'NOT MET');
  out.push(
    mdTable(
      ['goal', 'measured', 'target', 'verdict'],
      [
        [`many keys: req/s vs baseline, p99`, `**${n2(s.ratioMany)}x** (${n0(s.many.rpsMedian)} vs ${n0(s.baseline.rpsMedian)} req/s), p99 worst ${n2(s.many.p99WorstMs)} ms`, '>= 0.5x, p99 < 20 ms', verdict(s.goals.many.met)],
        [`one hot key: turns/s, p99`, `**${n0(s.hot.rpsMedian)} turns/s** (${n2(s.ratioHot)}x baseline), p99 worst ${n2(s.hot.p99WorstMs)} ms`, '>= 2,000/s, p99 < 20 ms', verdict(s.goals.hot.met)],
      ],
      ['---', '---', '---', '---'],
    ),
    '',
  );
  out.push(
    mdTable(
      ['', 'baseline', 'many keys', 'one hot key'],
      [
        ['req/s (median)', n0(s.baseline.rpsMedian), n0(s.many.rpsMedian), n0(s.hot.rpsMedian)],
        ['p50 ms (median)', n2(s.baseline.p50MedianMs), n2(s.many.p50MedianMs), n2(s.hot.p50MedianMs)],
        ['p99 ms (median / worst)', `${n2(s.baseline.p99MedianMs)} / ${n2(s.baseline.p99WorstMs)}`, `${n2(s.many.p99MedianMs)} / ${n2(s.many.p99WorstMs)}`, `${n2(s.hot.p99MedianMs)} / ${n2(s.hot.p99WorstMs)}`],
        ['server CPU (median)', `${n0(s.baseline.serverCpuPctMedian)}%`, `${n0(s.many.serverCpuPctMedian)}%`, `${n0(s.hot.serverCpuPctMedian)}%`],
        ['server CPU per request, us', n1(s.baseline.serverUsPerReqMedian), n1(s.many.serverUsPerReqMedian), n1(s.hot.serverUsPerReqMedian)],
        ['wrk CPU (median)', `${n0(s.baseline.wrkCpuPctMedian)}%`, `${n0(s.many.wrkCpuPctMedian)}%`, `${n0(s.hot.wrkCpuPctMedian)}%`],
        ['every 2xx committed', '-', s.many.durable ? 'yes' : 'NO', s.hot.durable ? 'yes' : 'NO'],
      ],
    ),
    '',
  );
  out.push('## Rounds', '');
  out.push(
    mdTable(
      ['round', 'target', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'non-2xx', 'socket errors', 'committed', 'server CPU', 'server us/req', 'wrk CPU', 'PG+Redis CPU', 'CPU0 / CPU1', 'other work'],
      r.rounds.map((x) => [
        x.round,
        x.target,
        n0(x.rps),
        n2(x.p50Ms),
        n2(x.p99Ms),
        n1(x.maxMs),
        x.non2xx,
        x.socketErrors,
        x.committed === null ? '-' : n0(x.committed),
        `${n0(x.serverCpuPct)}%`,
        n1(x.serverUsPerReq),
        `${n0(x.wrkCpuPct)}%`,
        `${n0(x.servicesCpuPct)}%`,
        `${n0(x.cores.cpu0)}% / ${n0(x.cores.cpu1)}%`,
        `${n0(x.noisePct)}%`,
      ]),
    ),
    '',
  );
  out.push('"committed" = increase of the counters in Postgres over the round: at least the 2xx answers (plus turns whose answer wrk stopped waiting for).', '');
  out.push('## How it was run', '', '```sh', r.command, '```', '', '```sh', ...Object.values(r.commands), '```', '', `Total time: ${n0(r.totalSeconds)} s.`, '');
  out.push(mdTable(['config', 'value'], Object.entries(r.config), ['---', '---']), '');
  out.push(mdTable(['machine', 'value'], Object.entries(r.machine), ['---', '---']), '');
  if (r.profile) out.push('## CPU profile of the project server', '', r.profile, '');
  if (r.notes.length) out.push('## Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  return out.join('\n');
}

export function writeActorsReport(benchDir, result) {
  const dir = path.join(benchDir, 'results');
  mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `actors-http-${result.date}`);
  writeFileSync(`${base}.json`, JSON.stringify(result, null, 2) + '\n');
  writeFileSync(`${base}.md`, actorsMarkdown(result));
  return { json: `${base}.json`, md: `${base}.md` };
}
