// The bench's outputs: a console table, bench/results/foundation-<date>.{md,json}, and the "latest results" block of
// bench/README.md (between marker comments, so re-running the bench keeps the README current).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const f0 = (n) => (n === null || n === undefined ? '-' : Math.round(n).toLocaleString('en-US'));
const f1 = (n) => (n === null || n === undefined ? '-' : n.toFixed(1));
const f2 = (n) => (n === null || n === undefined ? '-' : n.toFixed(2));

export function summarize(rounds, goal) {
  const of = (t) => rounds.filter((r) => r.target === t);
  const side = (t) => {
    const rs = of(t);
    return {
      rpsMedian: median(rs.map((r) => r.rps)),
      p50MedianMs: median(rs.map((r) => r.p50Ms)),
      p99MedianMs: median(rs.map((r) => r.p99Ms)),
      p99WorstMs: Math.max(...rs.map((r) => r.p99Ms)),
      wrkCpuPctMedian: median(rs.map((r) => r.wrkCpuPct ?? 0)),
      serverCpuPctMedian: median(rs.map((r) => r.serverCpuPct)),
      serverUsPerReqMedian: median(rs.map((r) => r.serverUsPerReq)),
      servicesUsPerReqMedian: rs.some((r) => r.servicesUsPerReq === null) ? null : median(rs.map((r) => r.servicesUsPerReq)),
      wrkUsPerReqMedian: median(rs.map((r) => r.wrkUsPerReq ?? 0)),
    };
  };
  const baseline = side('baseline');
  const project = side('project');
  const perRound = [...new Set(rounds.map((r) => r.round))].map((n) => {
    const b = rounds.find((r) => r.round === n && r.target === 'baseline');
    const p = rounds.find((r) => r.round === n && r.target === 'project');
    return b && p ? p.rps / b.rps : null;
  });
  const ratio = project.rpsMedian / baseline.rpsMedian;
  const serverCpuRatio = baseline.serverUsPerReqMedian / project.serverUsPerReqMedian;
  const capacity = { baseline: capacityOf(baseline), project: capacityOf(project) };
  const met = ratio >= goal.ratioMin && project.p99WorstMs < goal.p99MaxMs;
  return {
    baseline,
    project,
    ratio,
    ratioPerRound: perRound,
    serverCpuRatio,
    capacity: { ...capacity, ratio: capacity.baseline && capacity.project ? capacity.project.rps / capacity.baseline.rps : null },
    goal: { ...goal, met },
  };
}

/**
 * What each side could serve if CPU were the only limit, from its CPU per request: the server alone on its core,
 * Postgres + Redis + wrk sharing the other. A cross-check on the measured ratio that holds up better on a busy
 * machine (CPU per request moves much less than req/s when other work steals time), and it names the bound core.
 */
function capacityOf(side) {
  if (side.servicesUsPerReqMedian === null) return null;
  const serverCore = 1e6 / side.serverUsPerReqMedian;
  const loadCore = 1e6 / (side.servicesUsPerReqMedian + side.wrkUsPerReqMedian);
  return { rps: Math.min(serverCore, loadCore), boundBy: serverCore <= loadCore ? 'server core' : 'load core (Postgres+Redis+wrk)', serverCore, loadCore };
}

export function consoleTable(rounds, summary) {
  const lines = [];
  const row = (cells, widths) => cells.map((c, i) => String(c).padStart(widths[i])).join('  ');
  const w = [8, 5, 9, 8, 8, 8, 8, 8, 8, 8, 8, 10, 10];
  lines.push(row(['target', 'round', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'wrk CPU', 'srv CPU', 'cpu0 %', 'cpu1 %', 'other', 'srv us/req', 'db us/req'], w));
  for (const r of rounds) {
    lines.push(row([r.target, r.round, f0(r.rps), f2(r.p50Ms), f2(r.p99Ms), f1(r.maxMs), `${f0(r.wrkCpuPct)}%`, `${f0(r.serverCpuPct)}%`, f0(r.cores.cpu0), f0(r.cores.cpu1), `${f0(r.noisePct)}%`, f1(r.serverUsPerReq), f1(r.servicesUsPerReq)], w));
  }
  const s = summary;
  lines.push('');
  lines.push(`baseline (uWS + 1 Redis GET + 1 PG PK SELECT): ${f0(s.baseline.rpsMedian)} req/s median, p99 ${f2(s.baseline.p99MedianMs)} ms`);
  lines.push(`project  (GET /api/spaces/:id, PAT)           : ${f0(s.project.rpsMedian)} req/s median, p99 ${f2(s.project.p99MedianMs)} ms (worst ${f2(s.project.p99WorstMs)})`);
  lines.push(`ratio project/baseline: ${f2(s.ratio)}x (per round: ${s.ratioPerRound.map(f2).join(', ')})`);
  lines.push(
    `server CPU per request: baseline ${f1(s.baseline.serverUsPerReqMedian)} us, project ${f1(s.project.serverUsPerReqMedian)} us ` +
      `(baseline/project ${f2(s.serverCpuRatio)}x); Postgres+Redis per request: baseline ${f1(s.baseline.servicesUsPerReqMedian)} us, ` +
      `project ${f1(s.project.servicesUsPerReqMedian)} us`,
  );
  if (s.capacity.ratio !== null) {
    lines.push(
      `CPU-bound capacity model: baseline ${f0(s.capacity.baseline.rps)} req/s (${s.capacity.baseline.boundBy}), project ` +
        `${f0(s.capacity.project.rps)} req/s (${s.capacity.project.boundBy}), ratio ${f2(s.capacity.ratio)}x`,
    );
  }
  lines.push(
    `goal: >= ${s.goal.ratioMin}x baseline and p99 < ${s.goal.p99MaxMs} ms at ${s.goal.connections} connections: ${s.goal.met ? 'MET' : 'NOT MET'}`,
  );
  return lines.join('\n');
}

export function markdown(result) {
  const { summary: s, rounds, machine, config, commands } = result;
  const out = [];
  out.push(`# Foundation benchmark, ${result.date}`, '');
  out.push(
    `Authenticated \`GET /api/spaces/:spaceId\` (PAT bearer) on the real server, against a bare uWebSockets.js endpoint doing ` +
      `1 Redis GET + 1 Postgres primary-key SELECT, side by side in one run. Goal: **>= ${s.goal.ratioMin}x the baseline with ` +
      `p99 < ${s.goal.p99MaxMs} ms at ${s.goal.connections} connections** - **${s.goal.met ? 'met' : 'not met'}**.`,
    '',
  );
  out.push('| | baseline | project | project / baseline |', '| --- | ---: | ---: | ---: |');
  out.push(`| req/s (median of ${config.rounds} rounds) | ${f0(s.baseline.rpsMedian)} | ${f0(s.project.rpsMedian)} | **${f2(s.ratio)}x** |`);
  out.push(`| p50 latency, ms (median) | ${f2(s.baseline.p50MedianMs)} | ${f2(s.project.p50MedianMs)} | |`);
  out.push(`| p99 latency, ms (median / worst round) | ${f2(s.baseline.p99MedianMs)} / ${f2(s.baseline.p99WorstMs)} | ${f2(s.project.p99MedianMs)} / ${f2(s.project.p99WorstMs)} | |`);
  out.push(`| server CPU (median) | ${f0(s.baseline.serverCpuPctMedian)}% | ${f0(s.project.serverCpuPctMedian)}% | |`);
  out.push(`| wrk CPU (median) | ${f0(s.baseline.wrkCpuPctMedian)}% | ${f0(s.project.wrkCpuPctMedian)}% | |`);
  out.push(
    `| server CPU per request, us (median) | ${f1(s.baseline.serverUsPerReqMedian)} | ${f1(s.project.serverUsPerReqMedian)} | ` +
      `${f2(s.serverCpuRatio)}x (baseline/project) |`,
  );
  out.push(`| Postgres+Redis CPU per request, us (median) | ${f1(s.baseline.servicesUsPerReqMedian)} | ${f1(s.project.servicesUsPerReqMedian)} | |`);
  out.push(`| wrk CPU per request, us (median) | ${f1(s.baseline.wrkUsPerReqMedian)} | ${f1(s.project.wrkUsPerReqMedian)} | |`);
  if (s.capacity.ratio !== null) {
    const c = s.capacity;
    out.push(
      `| CPU-bound capacity model, req/s (bound by) | ${f0(c.baseline.rps)} (${c.baseline.boundBy}) | ${f0(c.project.rps)} (${c.project.boundBy}) | ${f2(c.ratio)}x |`,
    );
  }
  out.push('', `Ratio per round: ${s.ratioPerRound.map(f2).join(', ')}.`, '');
  out.push(
    'The capacity model divides a core-second by each side\'s CPU per request: the server alone on its core, ' +
      'Postgres + Redis + wrk together on the other. It is a cross-check that holds up on a ' +
      'busy machine (CPU per request moves far less than req/s when other work steals time) and it names the core that ' +
      'bounds each side.',
    '',
  );
  out.push('## Rounds', '');
  out.push('| round | target | req/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx | socket errors | wrk CPU | server CPU | Postgres+Redis CPU | CPU 0 busy | CPU 1 busy | other work | server us/req | PG+Redis us/req | wrk us/req |');
  out.push('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rounds) {
    out.push(
      `| ${r.round} | ${r.target} | ${f0(r.rps)} | ${f2(r.p50Ms)} | ${f2(r.p90Ms)} | ${f2(r.p99Ms)} | ${f1(r.maxMs)} | ${r.non2xx} | ${r.socketErrors} | ` +
        `${f0(r.wrkCpuPct)}% | ${f0(r.serverCpuPct)}% | ${r.servicesCpuPct === null ? '-' : `${f0(r.servicesCpuPct)}%`} | ${f0(r.cores.cpu0)}% | ${f0(r.cores.cpu1)}% | ${f0(r.noisePct)}% | ` +
        `${f1(r.serverUsPerReq)} | ${f1(r.servicesUsPerReq)} | ${f1(r.wrkUsPerReq)} |`,
    );
  }
  out.push(
    '',
    'CPU percentages are of one core over the round (100% = one core fully busy). "other work" is the larger of the CPU ' +
      'used by processes outside the bench and the busy time on the server core not used by the server (the machine is ' +
      'shared); a round above the quiet threshold is re-run.',
    '',
  );
  out.push('## How it was run', '', `Code: ${result.code}.`, '', '```sh', result.command, '```', '');
  out.push('Load commands (the token is a throwaway seeded PAT, redacted here):', '', '```sh', commands.baseline, commands.project, '```', '');
  out.push('| config | value |', '| --- | --- |');
  for (const [k, v] of Object.entries(config)) out.push(`| ${k} | ${String(v).replace(/\|/g, '\\|')} |`);
  out.push('', '| machine | value |', '| --- | --- |');
  for (const [k, v] of Object.entries(machine)) out.push(`| ${k} | ${String(v).replace(/\|/g, '\\|')} |`);
  if (result.profile) out.push('', '## CPU profiles', '', result.profile.note, '', result.profile.markdown);
  if (result.notes?.length) out.push('', '## Notes', '', ...result.notes.map((n) => `- ${n}`));
  return out.join('\n') + '\n';
}

export function writeResults(benchDir, result) {
  const dir = path.join(benchDir, 'results');
  mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `foundation-${result.date}`);
  writeFileSync(`${base}.json`, JSON.stringify(result, null, 2) + '\n');
  writeFileSync(`${base}.md`, markdown(result));
  updateReadme(path.join(benchDir, 'README.md'), result);
  return { json: `${base}.json`, md: `${base}.md` };
}

const START = '<!-- foundation-latest:start -->';
const END = '<!-- foundation-latest:end -->';

function updateReadme(file, result) {
  if (!existsSync(file)) return;
  const text = readFileSync(file, 'utf8');
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) return;
  const s = result.summary;
  const block = [
    START,
    '| bench | date | baseline req/s | project req/s | ratio | project p99 (worst round) | goal | details |',
    '| --- | --- | ---: | ---: | ---: | ---: | --- | --- |',
    `| foundation: \`GET /api/spaces/:id\` (PAT) vs uWS + Redis GET + PG PK SELECT, ${s.goal.connections} connections | ${result.date} | ` +
      `${f0(s.baseline.rpsMedian)} | ${f0(s.project.rpsMedian)} | ${f2(s.ratio)}x | ${f2(s.project.p99WorstMs)} ms | ` +
      `>= ${s.goal.ratioMin}x, p99 < ${s.goal.p99MaxMs} ms: ${s.goal.met ? 'met' : 'not met'} | [results/foundation-${result.date}.md](results/foundation-${result.date}.md) |`,
    END,
  ].join('\n');
  writeFileSync(file, text.slice(0, a) + block + text.slice(b + END.length));
}
