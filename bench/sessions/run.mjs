#!/usr/bin/env node
// `node bench/sessions/run.mjs [options]` (also `npm run bench:sessions`): the session benchmarks of issue 5.
//
//  1. Heartbeats/s through POST /api/sessions/:id/heartbeat on one web process (web.ts as production runs it), each
//     request a different one of 10,000 running sessions with its own signed token (wrk + heartbeat.lua), against
//     the Foundation composite baseline (bench/foundation/baseline.ts: bare uWS, 1 Redis GET + 1 Postgres PK
//     SELECT), alternating rounds in one run. Goal: project >= 0.8x baseline.
//  2. Dead-session detection lateness at 10,000 sessions: one heartbeat each through the route, then silence;
//     lateness = declared dead - (last heartbeat + timeout). Goal: p99 <= 1 s.
//
// Measurement rules of perf/ceilings.md, as bench/foundation: servers pinned to --server-cpu (0), wrk, the lateness
// client and our own throwaway Postgres (fsync on) + Redis to --load-cpu (1); wrk, not a Node generator, for the
// throughput; the shared-machine guard (wait for quiet, re-run noisy rounds, report the noise). Writes
// bench/results/sessions-<date>.{md,json} unless --no-write.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { ensureDatabase, ensureNodeModules, freePort, log, root, startPostgres, startRedis } from '../../scripts/lib/services.mjs';
import { ensureWrk, runWrk, wrkVersion } from '../foundation/lib/wrk.mjs';
import { allProcessCpu, coreBusyPct, coreTimes, cpuModel, descendants, foreignCpuS, pinTree } from '../foundation/lib/procstat.mjs';
import { startNode, stopNode, waitHttp } from '../foundation/lib/servers.mjs';
import { writeReport } from './report.mjs';
import { waitQuiet as waitQuietShared } from '../lib/harness.mjs';
import { profileMarkdown, summarizeProfile } from '../foundation/lib/cpuprofile.mjs';
import { existsSync } from 'node:fs';

const { values: opt } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    sessions: { type: 'string', default: '10000' },
    'lateness-sessions': { type: 'string', default: '10000' },
    /** Must outlast the first (cold) pass over the lateness sessions, ~10 s on a 2-core machine. */
    'lateness-timeout': { type: 'string', default: '20000' },
    'server-cpu': { type: 'string', default: '0' },
    'load-cpu': { type: 'string', default: '1' },
    'quiet-pct': { type: 'string', default: '25' },
    'max-wait': { type: 'string', default: '120' },
    attempts: { type: 'string', default: '3' },
    'no-write': { type: 'boolean', default: false },
    'keep-data': { type: 'boolean', default: false },
    /** Also profile the project under the heartbeat load (fresh process, V8 profiler over the load window only). */
    profile: { type: 'boolean', default: false },
    /** Skip the lateness phase (e.g. while profiling). */
    'no-lateness': { type: 'boolean', default: false },
  },
});
const num = (k) => {
  const n = Number(opt[k]);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${k} must be a number`);
  return n;
};
const [duration, warmup, roundCount, connections] = ['duration', 'warmup', 'rounds', 'connections'].map(num);
const serverCpu = opt['server-cpu'];
const loadCpu = opt['load-cpu'];
const GOAL = { ratioMin: 0.8, latenessP99MaxMs: 1000 };

if (os.availableParallelism() < 2) throw new Error('this bench pins servers and load to different cores: it needs at least 2 CPUs');
ensureNodeModules();
ensureWrk(log);

const dataDir = path.join(root, '.data', `bench-sessions-${process.pid}`);
rmSync(dataDir, { recursive: true, force: true });
mkdirSync(dataDir, { recursive: true });
const cleanups = [];
const notes = [];
let driverEnv = process.env;
let ok = false;

try {
  // 1. Services, pinned off the server core; schema; seed.
  const pg = await startPostgres(dataDir, { fast: false });
  cleanups.unshift(pg.stop);
  const databaseUrl = await ensureDatabase(pg.url, 'takos_bench');
  const redis = await startRedis(dataDir, { persist: false });
  cleanups.unshift(redis.stop);
  const servicePids = [pg.child.pid, redis.child.pid];
  for (const pid of servicePids) pinTree(pid, loadCpu);
  const secret = randomBytes(32).toString('hex');
  const env = { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL: redis.url, SERVICE_TOKEN_SECRET: secret, LOG_LEVEL: 'warn' };
  driverEnv = env;
  const tsx = (args, what) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', ...args], { cwd: root, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) throw new Error(`${what} failed`);
    return r.stdout.trim().split('\n').pop();
  };
  tsx(['migrate.ts'], 'migration');
  const beatFile = path.join(dataDir, 'sessions.txt');
  const lateFile = path.join(dataDir, 'lateness-sessions.txt');
  const seed = JSON.parse(tsx(['bench/sessions/seed.ts', opt.sessions, beatFile, 'hb', String(3_600_000)], 'seeding'));
  JSON.parse(tsx(['bench/sessions/seed.ts', opt['lateness-sessions'], lateFile, 'dd', opt['lateness-timeout']], 'seeding (lateness)'));
  log(`seeded ${opt.sessions} + ${opt['lateness-sessions']} running sessions`);

  // 2. Both servers on the server core.
  const [basePort, projPort] = [await freePort(), await freePort()];
  const start = async (name, entry, extra, port, probe, nodeFlags = []) => {
    const s = startNode({ name, entry, env: { ...env, ...extra }, cpu: serverCpu, cwd: root, logFile: path.join(dataDir, `${name}.log`), nodeFlags });
    cleanups.unshift(() => stopNode(s));
    await waitHttp(s, `http://127.0.0.1:${port}${probe}`);
    return s;
  };
  const baseline = await start('baseline', 'bench/foundation/baseline.ts', { PORT: String(basePort), BENCH_ROW_ID: seed.baselineRowId, BENCH_REDIS_KEY: seed.redisKey }, basePort, '/baseline');
  const projectEnv = { ENVIRONMENT: 'production', HOST: '127.0.0.1', TAKOS_DATA_DIR: path.join(dataDir, 'project'), REDIS_PREFIX: 'takos-bench:' };
  const project = await start('project', 'web.ts', { ...projectEnv, PORT: String(projPort) }, projPort, '/health');
  await verify(basePort, projPort, beatFile);

  // 3. Throughput: warm-up (JIT, pools, auth cache, activation of every session actor), then alternating rounds.
  const lua = path.join(root, 'bench/sessions/heartbeat.lua');
  const wrkFor = (t, d) =>
    t === 'baseline'
      ? ['-t1', `-c${connections}`, `-d${d}s`, '--latency', `http://127.0.0.1:${basePort}/baseline`]
      : ['-t1', `-c${connections}`, `-d${d}s`, '--latency', '-s', lua, `http://127.0.0.1:${projPort}`, '--', beatFile];
  const pids = { baseline: baseline.pid, project: project.pid };
  const touch = (port) => driver(['--touch-only', `http://127.0.0.1:${port}`, beatFile]);
  // Steady state for the project is every session's token cached and its actor active (heartbeats come every 30 s;
  // tokens stay cached 60 s, actors 5 min): one heartbeat to each first, then the timed warm-up.
  log(`warm-up: one heartbeat to each of ${opt.sessions} sessions (${(await touch(projPort)).sendMs} ms)`);
  for (const t of ['baseline', 'project']) await runWrk(wrkFor(t, warmup), loadCpu);
  const rounds = [];
  for (let n = 1; n <= roundCount; n++) {
    for (const t of n % 2 === 1 ? ['baseline', 'project'] : ['project', 'baseline']) {
      let r;
      for (let attempt = 1; ; attempt++) {
        await waitQuiet();
        r = await measured(pids[t], servicePids, wrkFor(t, duration));
        if (r.noisePct <= num('quiet-pct') || attempt >= num('attempts')) break;
        log(`round ${n} ${t}: other work took ${Math.round(r.noisePct)}% of a core; running it again`);
      }
      if (r.noisePct > num('quiet-pct')) notes.push(`round ${n} ${t}: other processes took ${Math.round(r.noisePct)}% of a core during it (kept after ${num('attempts')} attempts)`);
      if (r.non2xx > 0 || r.socketErrors > 0) notes.push(`round ${n} ${t}: ${r.non2xx} non-2xx responses, ${r.socketErrors} socket errors`);
      delete r.raw;
      rounds.push({ round: n, target: t, ...r });
      log(`round ${n} ${t}: ${Math.round(r.rps)} req/s, p99 ${r.p99Ms.toFixed(2)} ms, server CPU ${Math.round(r.serverCpuPct)}%`);
    }
  }

  // 4. Optional CPU profile of a fresh project process under the same load, over the load window only.
  let profile = null;
  if (opt.profile) {
    const out = path.join(dataDir, 'project.cpuprofile');
    const port = await freePort();
    const flags = ['--enable-source-maps', '--import', path.join(root, 'bench/foundation/lib/profiler-hook.mjs')];
    const p = await start('project-profiled', 'web.ts', { ...projectEnv, PORT: String(port), BENCH_PROFILE_OUT: out, REDIS_PREFIX: 'takos-bench-prof:' }, port, '/health', flags);
    const args = (d) => ['-t1', `-c${connections}`, `-d${d}s`, '--latency', '-s', lua, `http://127.0.0.1:${port}`, '--', beatFile];
    await touch(port);
    await runWrk(args(warmup), loadCpu);
    p.child.kill('SIGUSR2');
    const w = await runWrk(args(duration), loadCpu);
    p.child.kill('SIGUSR2');
    for (let i = 0; i < 100 && !existsSync(out); i++) await new Promise((r) => setTimeout(r, 100));
    await stopNode(p);
    const summary = summarizeProfile(out, { root, sourceMaps: `${out}.maps.json` });
    profile = { rps: w.rps, requests: w.requests, markdown: profileMarkdown(summary, w.requests) };
    process.stdout.write(`\n${profile.markdown}\n`);
  }

  // 5. Dead-session detection lateness (client pinned to the load core with the services).
  let late = null;
  if (!opt['no-lateness']) {
    await waitQuiet();
    log(`lateness: heartbeats to each of ${opt['lateness-sessions']} sessions (timeout ${opt['lateness-timeout']} ms), then silence`);
    late = await driver([`http://127.0.0.1:${projPort}`, lateFile]);
    log(`lateness p50 ${late.latenessMs.p50} ms, p99 ${late.latenessMs.p99} ms, max ${late.latenessMs.max} ms; ${late.dead} dead, ${late.notDead} not`);
  }

  // 6. Report.
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const side = (t) => rounds.filter((r) => r.target === t);
  const summary = {
    baselineRps: med(side('baseline').map((r) => r.rps)),
    projectRps: med(side('project').map((r) => r.rps)),
    baselineP99: med(side('baseline').map((r) => r.p99Ms)),
    projectP99: med(side('project').map((r) => r.p99Ms)),
    baselineUsPerReq: med(side('baseline').map((r) => r.serverUsPerReq)),
    projectUsPerReq: med(side('project').map((r) => r.serverUsPerReq)),
  };
  summary.ratio = summary.projectRps / summary.baselineRps;
  summary.cpuRatio = summary.baselineUsPerReq / summary.projectUsPerReq;
  summary.throughputMet = summary.ratio >= GOAL.ratioMin;
  summary.latenessMet = late !== null && late.latenessMs.p99 !== null && late.latenessMs.p99 <= GOAL.latenessP99MaxMs && late.notDead === 0 && late.early === 0;
  const result = {
    bench: 'sessions',
    date: new Date().toISOString().slice(0, 10),
    finishedAt: new Date().toISOString(),
    command: `node bench/sessions/run.mjs${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
    commands: {
      baseline: `taskset -c ${loadCpu} wrk ${wrkFor('baseline', duration).join(' ')}`,
      project: `taskset -c ${loadCpu} wrk ${wrkFor('project', duration).join(' ').replace(beatFile, '<sessions file>')}`,
      lateness: `taskset -c ${loadCpu} node --import tsx bench/sessions/lateness.ts <web url> <sessions file>`,
    },
    machine: { nproc: os.availableParallelism(), cpu: cpuModel(), memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`, node: process.version, wrk: wrkVersion() },
    config: {
      sessions: Number(opt.sessions),
      'lateness sessions': Number(opt['lateness-sessions']),
      'lateness timeout (ms)': Number(opt['lateness-timeout']),
      rounds: roundCount,
      'round length (s)': duration,
      'warm-up (s)': warmup,
      'wrk threads / connections': `1 / ${connections}`,
      pinning: `servers on CPU ${serverCpu}; wrk, the lateness client, Postgres and Redis on CPU ${loadCpu}`,
      project: 'node --import tsx web.ts, ENVIRONMENT=production, LOG_LEVEL=warn, default PG_POOL_MAX and actor settings',
      baseline: 'bench/foundation/baseline.ts (uWS, ioredis GET, postgres.js pool 50 PK SELECT)',
      services: 'throwaway Postgres 15 (fsync on) and Redis (no persistence), started by the bench',
    },
    goal: GOAL,
    rounds,
    summary,
    lateness: late,
    profile,
    notes,
  };
  process.stdout.write(`\n${JSON.stringify(summary, null, 2)}\n`);
  if (!opt['no-write'] && late) log(`results written to ${path.relative(root, writeReport(path.join(root, 'bench', 'results'), result))}`);
  ok = true;
} catch (err) {
  log(`bench failed: ${err instanceof Error ? err.stack : String(err)}`);
  log(`logs kept in ${dataDir}`);
  process.exitCode = 1;
} finally {
  for (const c of cleanups) await c().catch(() => {});
  if (ok && !opt['keep-data']) rmSync(dataDir, { recursive: true, force: true });
}

/** bench/sessions/lateness.ts pinned to the load core (with the services); resolves to its JSON line. */
function driver(args) {
  return new Promise((resolve, reject) => {
    const c = spawn('taskset', ['-c', loadCpu, process.execPath, '--import', 'tsx', 'bench/sessions/lateness.ts', ...args], { cwd: root, env: driverEnv, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`bench/sessions/lateness.ts exited with ${code}`))));
  });
}

/** Both sides answer what they should before anything is measured; the project refuses a missing token. */
async function verify(basePort, projPort, beatFile) {
  const b = await fetch(`http://127.0.0.1:${basePort}/baseline`);
  if (b.status !== 200) throw new Error(`baseline answered ${b.status}`);
  const [id, token] = (await import('node:fs')).readFileSync(beatFile, 'utf8').split('\n')[0].split(' ');
  const p = await fetch(`http://127.0.0.1:${projPort}/api/sessions/${id}/heartbeat`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  const body = await p.text();
  if (p.status !== 200 || !body.includes('"success":true')) throw new Error(`project heartbeat answered ${p.status}: ${body}`);
  const anon = await fetch(`http://127.0.0.1:${projPort}/api/sessions/${id}/heartbeat`, { method: 'POST' });
  if (anon.status !== 401) throw new Error(`project heartbeat without a token answered ${anon.status}, expected 401`);
}

/** One wrk run with the CPU each side used during it. */
async function measured(serverPid, servicePids, args) {
  const c0 = coreTimes();
  const all0 = allProcessCpu();
  const t0 = performance.now();
  const w = await runWrk(args, loadCpu);
  const elapsed = (performance.now() - t0) / 1000;
  const all1 = allProcessCpu();
  const cores = coreBusyPct(c0, coreTimes());
  const delta = (ps) => ps.reduce((sum, p) => sum + ((all1.get(p) ?? 0) - (all0.get(p) ?? 0)), 0);
  const serverS = delta([serverPid]);
  const servicesS = delta(servicePids.flatMap((p) => descendants(p)));
  const foreignPct = (foreignCpuS(all0, all1, new Set(descendants(process.pid))) / elapsed) * 100;
  const serverCpuPct = (serverS / elapsed) * 100;
  const intrusionPct = Math.max(0, (cores[`cpu${serverCpu}`] ?? 0) - serverCpuPct);
  return {
    ...w,
    serverCpuPct,
    servicesCpuPct: (servicesS / elapsed) * 100,
    serverUsPerReq: w.requests ? (serverS * 1e6) / w.requests : null,
    noisePct: Math.max(foreignPct, intrusionPct),
    cores,
  };
}

/** Waits (up to --max-wait s) until processes outside the bench use at most --quiet-pct of a core. */
function waitQuiet() {
  return waitQuietShared({ quietPct: num('quiet-pct'), maxWaitS: num('max-wait'), notes });
}
