#!/usr/bin/env node
// `npm run bench:foundation [-- options]`: the Foundation benchmark of issue 3, item 8.
//
// Authenticated `GET /api/spaces/:spaceId` on the real server (web.ts: buildApp + createKernel, unchanged) against
// a bare uWS endpoint doing 1 Redis GET + 1 Postgres PK SELECT (baseline.ts), both in one run, alternating rounds,
// with the measurement rules of perf/ceilings.md:
//   - servers pinned to one core (--server-cpu, default 0), wrk and our own Postgres + Redis to the other
//     (--load-cpu, default 1), so nothing but the server under test runs on the server's core;
//   - wrk (installed from Debian when missing), never a Node load generator; wrk's own CPU use is reported;
//   - a throwaway Postgres (durable settings: fsync on) and Redis of our own, as `npm test` starts them, unless
//     DATABASE_URL / REDIS_URL are given (then they are used as they are and cannot be pinned).
// Prints a table with both sides and the ratio; writes bench/results/foundation-<date>.{md,json} and refreshes the
// latest-results table of bench/README.md. `--profile` adds a CPU-profiled run of each server (fresh process, same
// load) and a summary of where their CPU goes, by package and by function.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { ensureDatabase, ensureNodeModules, freePort, log, root, startPostgres, startRedis } from '../../scripts/lib/services.mjs';
import { ensureWrk, runWrk, wrkArgs, wrkVersion } from './lib/wrk.mjs';
import { allProcessCpu, coreBusyPct, coreTimes, descendants, foreignCpuS, pinTree } from './lib/procstat.mjs';
import { startNode, stopNode, waitHttp } from './lib/servers.mjs';
import { consoleTable, summarize, writeResults } from './lib/report.mjs';
import { profileMarkdown, summarizeProfile } from './lib/cpuprofile.mjs';
import { machineInfo, waitQuiet as waitQuietOnce } from '../lib/harness.mjs';

const { values: opt } = parseArgs({
  options: {
    duration: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    threads: { type: 'string', default: '1' },
    'server-cpu': { type: 'string', default: '0' },
    'load-cpu': { type: 'string', default: '1' },
    /** Project PG_POOL_MAX; unset = the project's default, as shipped. */
    pool: { type: 'string' },
    /** The project path to load; `{spaceId}` is replaced by the seeded team space's id. */
    path: { type: 'string', default: '/api/spaces/{spaceId}' },
    profile: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    'keep-data': { type: 'boolean', default: false },
    /** Other work (another engineer's tests) may take at most this much CPU (% of one core) during a round. */
    'quiet-pct': { type: 'string', default: '10' },
    /** Attempts per round before a noisy one is kept (and listed in the report's notes). */
    attempts: { type: 'string', default: '4' },
    /** Minutes the guard may spend waiting and re-running in total; after that every round is measured as it comes. */
    budget: { type: 'string', default: '30' },
    /** Seconds to wait for the machine to become that quiet before a round. */
    'max-wait': { type: 'string', default: '180' },
  },
});
const num = (k) => {
  const n = Number(opt[k]);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${k} must be a number`);
  return n;
};
const duration = num('duration');
const warmup = num('warmup');
const roundCount = num('rounds');
const connections = num('connections');
const threads = num('threads');
const serverCpu = opt['server-cpu'];
const loadCpu = opt['load-cpu'];
const quietPct = num('quiet-pct');
const maxWait = num('max-wait');
const maxAttempts = Math.max(1, num('attempts'));
const guardUntil = Date.now() + num('budget') * 60_000;
const guardActive = () => Date.now() < guardUntil;
const GOAL = { ratioMin: 0.6, p99MaxMs: 20, connections };

if (os.availableParallelism() < 2) throw new Error('this bench pins the server and the load generator to different cores: it needs at least 2 CPUs');
ensureNodeModules();
ensureWrk(log);

const dataDir = path.join(root, '.data', `bench-foundation-${process.pid}`);
rmSync(dataDir, { recursive: true, force: true });
mkdirSync(dataDir, { recursive: true });
const cleanups = [];
const notes = [];
let interrupted = false;
process.on('SIGINT', () => {
  interrupted = true;
  log('interrupted: stopping servers and services');
});

try {
  // 1. Postgres + Redis, pinned off the server's core.
  let databaseUrl = process.env.DATABASE_URL;
  let redisUrl = process.env.REDIS_URL;
  const servicePids = [];
  let pinning = '';
  if (!databaseUrl) {
    const pg = await startPostgres(dataDir, { fast: false });
    cleanups.unshift(pg.stop);
    servicePids.push(pg.child.pid);
    databaseUrl = await ensureDatabase(pg.url, 'takos_bench');
  } else notes.push('DATABASE_URL was given: that Postgres was used as is (not pinned, not throwaway).');
  if (!redisUrl) {
    const r = await startRedis(dataDir, { persist: false });
    cleanups.unshift(r.stop);
    servicePids.push(r.child.pid);
    redisUrl = r.url;
  } else notes.push('REDIS_URL was given: that Redis was used as is (not pinned).');
  for (const pid of servicePids) pinTree(pid, loadCpu);
  pinning = `servers on CPU ${serverCpu}; wrk${servicePids.length ? ', Postgres (postmaster and every backend) and Redis' : ''} on CPU ${loadCpu}`;

  // 2. Schema and seed data.
  const tsxEnv = { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, LOG_LEVEL: 'warn' };
  const node = (args, what) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', ...args], { cwd: root, env: tsxEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) throw new Error(`${what} failed`);
    return r.stdout;
  };
  node(['migrate.ts'], 'migration');
  const seed = JSON.parse(node(['bench/foundation/seed.ts'], 'seeding').trim().split('\n').pop());

  // 3. Both servers, pinned to the server core.
  const [basePort, projPort] = [await freePort(), await freePort()];
  const projectPath = opt.path.replace('{spaceId}', seed.spaceId);
  if (opt.path !== '/api/spaces/{spaceId}') notes.push(`project path overridden: ${opt.path} (the goal is defined for /api/spaces/{spaceId})`);
  const baselineEnv = { ...tsxEnv, PORT: String(basePort), BENCH_ROW_ID: seed.baselineRowId, BENCH_REDIS_KEY: seed.redisKey };
  const projectEnv = {
    ...tsxEnv,
    ENVIRONMENT: 'production',
    HOST: '127.0.0.1',
    PORT: String(projPort),
    TAKOS_DATA_DIR: path.join(dataDir, 'project'),
    REDIS_PREFIX: 'takos-bench:',
    ...(opt.pool ? { PG_POOL_MAX: opt.pool } : {}),
  };
  const start = (name, entry, env, port, probe, nodeFlags = []) => {
    const s = startNode({ name, entry, env, cpu: serverCpu, cwd: root, logFile: path.join(dataDir, `${name}.log`), nodeFlags });
    cleanups.unshift(() => stopNode(s));
    return waitHttp(s, `http://127.0.0.1:${port}${probe}`).then(() => s);
  };
  const baseline = await start('baseline', 'bench/foundation/baseline.ts', baselineEnv, basePort, '/baseline');
  const project = await start('project', 'web.ts', projectEnv, projPort, '/health');

  const targets = {
    baseline: { server: baseline, url: `http://127.0.0.1:${basePort}/baseline`, headers: {} },
    project: { server: project, url: `http://127.0.0.1:${projPort}${projectPath}`, headers: { Authorization: `Bearer ${seed.token}` } },
  };
  const sizes = await verify(targets, seed);

  // 4. Warm-up (JIT, pools, prepared statements, auth cache), then alternating rounds.
  const argsFor = (t, d) => wrkArgs({ threads, connections, duration: d, url: targets[t].url, headers: targets[t].headers });
  for (const t of ['baseline', 'project']) if (warmup > 0 && !interrupted) await runWrk(argsFor(t, warmup), loadCpu);
  const rounds = [];
  for (let n = 1; n <= roundCount && !interrupted; n++) {
    const order = n % 2 === 1 ? ['baseline', 'project'] : ['project', 'baseline'];
    for (const t of order) {
      let r;
      // The machine is shared: a round during which other processes took a real share of the CPU is run again.
      for (let attempt = 1; !interrupted; attempt++) {
        await waitQuiet();
        r = await measuredRun(targets[t].server.pid, servicePids, argsFor(t, duration));
        if (r.noisePct <= quietPct) break;
        if (attempt === maxAttempts || !guardActive()) {
          notes.push(`round ${n} ${t}: other work took ${Math.round(r.noisePct)}% of a core during it (attempt ${attempt}); kept`);
          break;
        }
        log(`round ${n} ${t}: other work took ${Math.round(r.noisePct)}% of a core; running it again`);
      }
      if (interrupted) break;
      if (r.non2xx > 0 || r.socketErrors > 0) notes.push(`round ${n} ${t}: ${r.non2xx} non-2xx responses, ${r.socketErrors} socket errors`);
      delete r.raw;
      rounds.push({ round: n, target: t, ...r });
      log(`round ${n} ${t}: ${Math.round(r.rps)} req/s, p99 ${r.p99Ms.toFixed(2)} ms`);
    }
  }
  if (interrupted || rounds.length === 0) throw new Error('interrupted before any complete round');

  // 5. Optional CPU profiles of fresh servers under the same load, taken over the load window only.
  let profile = null;
  if (opt.profile && !interrupted) {
    const profDir = path.join(dataDir, 'cpuprof');
    mkdirSync(profDir, { recursive: true });
    const one = async (name, entry, env, urlPath, headers) => {
      const out = path.join(profDir, `${name}.cpuprofile`);
      const port = await freePort();
      const flags = ['--enable-source-maps', '--import', path.join(root, 'bench/foundation/lib/profiler-hook.mjs')];
      const s = await start(`${name}-profiled`, entry, { ...env, PORT: String(port), BENCH_PROFILE_OUT: out }, port, urlPath, flags);
      const args = (d) => wrkArgs({ threads, connections, duration: d, url: `http://127.0.0.1:${port}${urlPath}`, headers });
      await runWrk(args(warmup || 3), loadCpu);
      await waitQuiet();
      s.child.kill('SIGUSR2');
      const w = await runWrk(args(duration), loadCpu);
      s.child.kill('SIGUSR2');
      for (let i = 0; i < 100 && !existsSync(out); i++) await new Promise((r) => setTimeout(r, 100));
      await stopNode(s);
      if (!existsSync(out)) throw new Error(`no CPU profile from ${name} (see ${s.logFile})`);
      const summary = summarizeProfile(out, { root, sourceMaps: `${out}.maps.json` });
      return { rps: w.rps, requests: w.requests, summary, markdown: profileMarkdown(summary, w.requests) };
    };
    await stopNode(baseline);
    await stopNode(project);
    const b = await one('baseline', 'bench/foundation/baseline.ts', baselineEnv, '/baseline', {});
    const p = await one('project', 'web.ts', projectEnv, projectPath, targets.project.headers);
    profile = {
      note:
        `V8 CPU profiler (node:inspector, started and stopped by SIGUSR2 around the load window) on fresh servers after a warm-up, ` +
        `${duration} s at ${connections} connections each: baseline ${Math.round(b.rps)} req/s, project ${Math.round(p.rps)} req/s under the profiler. ` +
        'Self time; frames of our .ts files are mapped back to file:line through tsx\'s source maps. The sampler ' +
        'counts wall time while the thread is not idle, so on a busy machine it includes time spent waiting for the CPU: ' +
        'read the shares here, and the cost per request in the rounds\' CPU figures.',
      baseline: { rps: b.rps, requests: b.requests, summary: b.summary },
      project: { rps: p.rps, requests: p.requests, summary: p.summary },
      markdown: `### project\n\n${p.markdown}\n\n### baseline\n\n${b.markdown}`,
    };
    process.stdout.write(`\n${profile.markdown}\n`);
  }

  // 6. Report.
  const summary = summarize(rounds, GOAL);
  process.stdout.write(`\n${consoleTable(rounds, summary)}\n`);
  const redact = (args) => args.map((a) => a.replace(seed.token, 'tak_pat_<redacted>')).map((a) => (/\s/.test(a) ? `'${a}'` : a));
  const result = {
    bench: 'foundation',
    date: new Date().toISOString().slice(0, 10),
    finishedAt: new Date().toISOString(),
    command: `npm run bench:foundation${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    commands: {
      baseline: `taskset -c ${loadCpu} wrk ${redact(argsFor('baseline', duration)).join(' ')}`,
      project: `taskset -c ${loadCpu} wrk ${redact(argsFor('project', duration)).join(' ')}`,
    },
    machine: await machineInfo(databaseUrl, redisUrl, { wrk: wrkVersion() }),
    code: gitDescribe(),
    config: {
      rounds: roundCount,
      'round length (s)': duration,
      'warm-up per server (s)': warmup,
      'round order': 'alternating: B,P / P,B / B,P ...',
      'shared-machine guard': `before each round, wait (up to ${maxWait} s) until the machine is idle apart from the bench (<= ${quietPct}% of a core busy elsewhere); re-run a round (up to ${maxAttempts} attempts) when other work took more than that during it; ${opt.budget} min for all waiting and re-running`,
      'wrk threads / connections': `${threads} / ${connections}`,
      pinning,
      'project server': `node --import tsx web.ts, ENVIRONMENT=production, LOG_LEVEL=warn, PG_POOL_MAX=${opt.pool ?? 'default (32)'}`,
      'project request': `GET ${opt.path.replace('{spaceId}', '<team space id>')}, Authorization: Bearer <PAT> (${sizes.project} byte body)`,
      'baseline server': `bench/foundation/baseline.ts: uWS, ioredis GET (auto-pipelined), postgres.js pool 50 PK SELECT (${sizes.baseline} byte body)`,
      services: servicePids.length
        ? 'throwaway Postgres 15 (fsync on, shared_buffers 256MB) and Redis (no persistence), started by the bench'
        : 'external (DATABASE_URL / REDIS_URL)',
    },
    rounds,
    summary,
    profile,
    notes,
  };
  if (!opt['no-write']) {
    const files = writeResults(path.join(root, 'bench'), result);
    log(`results written to ${path.relative(root, files.md)} and ${path.relative(root, files.json)}`);
  }
  process.exitCode = 0;
} catch (err) {
  log(`bench failed: ${err instanceof Error ? err.stack : String(err)}`);
  log(`logs kept in ${dataDir}`);
  process.exitCode = 1;
} finally {
  for (const c of cleanups) await c().catch(() => {});
  if (process.exitCode === 0 && !opt['keep-data']) rmSync(dataDir, { recursive: true, force: true });
}

/** One measured wrk run, with the CPU each side used during it. */
async function measuredRun(serverPid, servicePids, args) {
  const c0 = coreTimes();
  const all0 = allProcessCpu();
  const t0 = performance.now();
  const w = await runWrk(args, loadCpu);
  const elapsed = (performance.now() - t0) / 1000;
  const all1 = allProcessCpu();
  const cores = coreBusyPct(c0, coreTimes());
  // Classified at the end: pools open new connections (new Postgres backends) during a round after an idle spell.
  const delta = (pids) => pids.reduce((sum, p) => sum + ((all1.get(p) ?? 0) - (all0.get(p) ?? 0)), 0);
  const serverS = delta([serverPid]);
  const servicesS = servicePids.length ? delta(servicePids.flatMap((p) => descendants(p))) : null;
  const foreign = foreignCpuS(all0, all1, new Set(descendants(process.pid)));
  // CPU per request is far less sensitive than req/s to whatever else the machine is doing: it says what each side
  // costs, while req/s says what this run could get.
  const perReq = (sec) => (sec === null || w.requests === 0 ? null : (sec * 1e6) / w.requests);
  const serverCpuPct = (serverS / elapsed) * 100;
  const foreignCpuPct = (foreign / elapsed) * 100;
  const intrusionPct = Math.max(0, (cores[`cpu${serverCpu}`] ?? 0) - serverCpuPct);
  return {
    ...w,
    foreignCpuPct,
    // Busy time on the server's core that the server did not use: other processes (including short-lived ones that
    // per-process accounting cannot see) and interrupts. A few percent when the machine is otherwise idle.
    intrusionPct,
    // How much of the machine other work took during the round (% of one core): the larger of the two signals.
    noisePct: Math.max(foreignCpuPct, intrusionPct),
    serverCpuPct,
    servicesCpuPct: servicesS === null ? null : (servicesS / elapsed) * 100,
    serverUsPerReq: perReq(serverS),
    servicesUsPerReq: perReq(servicesS),
    wrkUsPerReq: perReq(w.wrkCpuS),
    cores,
  };
}


/**
 * The shared-machine guard of bench/lib/harness.mjs, within this run's --budget: once the budget is spent, rounds are
 * measured as they come (and the report says so).
 */
let budgetNoted = false;
async function waitQuiet() {
  if (!guardActive()) {
    if (!budgetNoted) notes.push(`the guard's ${opt.budget} min budget ran out: rounds from here on were measured as they came`);
    budgetNoted = true;
    return;
  }
  const maxWaitS = Math.max(0, Math.min(maxWait, (guardUntil - Date.now()) / 1000));
  await waitQuietOnce({ quietPct, maxWaitS, notes, stop: () => interrupted });
}

/** Both endpoints must answer what they claim before anything is measured; the project must also refuse no token. */
async function verify(targets, seed) {
  const get = async (t, headers = targets[t].headers) => {
    const r = await fetch(targets[t].url, { headers });
    return { status: r.status, text: await r.text() };
  };
  const b = await get('baseline');
  if (b.status !== 200 || JSON.parse(b.text).id !== seed.baselineRowId) throw new Error(`baseline answered ${b.status}: ${b.text}`);
  const p = await get('project');
  if (p.status !== 200 || (opt.path.includes('{spaceId}') && !p.text.includes(seed.spaceId))) throw new Error(`project answered ${p.status}: ${p.text}`);
  const anon = await get('project', {});
  if (anon.status !== 401) throw new Error(`project without a token answered ${anon.status}, expected 401`);
  return { baseline: Buffer.byteLength(b.text), project: Buffer.byteLength(p.text) };
}

/** Which code was measured: the commit, and whether the work tree differed from it. */
function gitDescribe() {
  const git = (...args) => spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  const head = git('rev-parse', '--short', 'HEAD');
  // BENCH_GIT_REF: set when running from an export of a commit (`git archive`), which has no .git of its own.
  if (head.status !== 0) return process.env.BENCH_GIT_REF ? `${process.env.BENCH_GIT_REF} (exported tree)` : 'not a git checkout';
  const dirty = git('status', '--porcelain', '--untracked-files=no').stdout.trim() !== '';
  return `${head.stdout.trim()}${dirty ? ' + uncommitted changes' : ''}`;
}

