#!/usr/bin/env node
// `npm run bench:actors [-- options]`: issue 4, item 6 (e). Actor turns through the HTTP front (command -> durable
// state change -> reply) against the Foundation's composite baseline (bench/foundation/baseline.ts: uWS + 1 Redis
// GET + 1 Postgres PK SELECT), side by side in one run, with wrk at --connections (50):
//   many  POST /bench/actors/k<i>/add over --keys (1,000) keys, a different key per request (wrk Lua script)
//   hot   the same on one key: every request waits for the same actor, whose turn loop commits each round's turns
//         in one transaction
// Goals: many >= 0.5x the baseline's req/s, hot >= 2,000 turns/s, p99 < 20 ms in both.
// Servers on --server-cpu (0), wrk + Postgres + Redis on --load-cpu (1). After the load, the counters in Postgres
// must account for every 2xx answer (durability check). Writes bench/results/actors-http-<date>.{md,json}.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { Redis } from 'ioredis';
import { ensureNodeModules, freePort } from '../../scripts/lib/services.mjs';
import { ensureWrk, runWrk, wrkVersion } from '../foundation/lib/wrk.mjs';
import { startNode, stopNode, waitHttp } from '../foundation/lib/servers.mjs';
import { cpuWindow, log, machineInfo, root, startServices, tsxJson, waitQuiet } from '../lib/harness.mjs';
import { summarizeActors, writeActorsReport } from './report.mjs';

const { values: v } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '2' },
    connections: { type: 'string', default: '50' },
    keys: { type: 'string', default: '1000' },
    'server-cpu': { type: 'string', default: '0' },
    'load-cpu': { type: 'string', default: '1' },
    'quiet-pct': { type: 'string', default: '15' },
    attempts: { type: 'string', default: '2' },
    'max-wait': { type: 'string', default: '30' },
    profile: { type: 'boolean', default: false },
    /** Diagnostic only: Postgres with fsync and synchronous_commit off, to see how much of the p99 is the WAL flush. */
    'pg-fast': { type: 'boolean', default: false },
    /** Before each round: CHECKPOINT and VACUUM ANALYZE, so no round inherits the previous one's Postgres backlog. */
    settle: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    'keep-data': { type: 'boolean', default: false },
  },
});
const opt = Object.fromEntries(['duration', 'warmup', 'rounds', 'connections', 'keys', 'quiet-pct', 'attempts', 'max-wait'].map((k) => [k, Number(v[k])]));
const serverCpu = v['server-cpu'];
const loadCpu = v['load-cpu'];
if (os.availableParallelism() < 2) throw new Error('this bench pins servers and load to different cores: it needs at least 2 CPUs');
ensureNodeModules();
ensureWrk(log);

const dataDir = path.join(root, '.data', `bench-actors-http-${process.pid}`);
rmSync(dataDir, { recursive: true, force: true });
mkdirSync(dataDir, { recursive: true });
const notes = [];
const cleanups = [];
const started = Date.now();
let services = null;
// Interrupted (Ctrl-C, timeout): stop the servers and the services before leaving, keeping the logs.
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    log(`${sig}: stopping servers and services; logs kept in ${dataDir}`);
    void (async () => {
      for (const c of cleanups) await c().catch(() => {});
      if (services) await services.stop();
      process.exit(130);
    })();
  });
}

try {
  services = await startServices({ dataDir, loadCpu, notes, database: 'takos_bench_actors', pgFast: v['pg-fast'] });
  const env = { ...process.env, DATABASE_URL: services.databaseUrl, REDIS_URL: services.redisUrl, LOG_LEVEL: 'warn' };
  const seed = tsxJson(['bench/lib/seed.ts', '--runs', '0'], env);
  const redisKey = 'bench:actors-http:baseline';
  const redis = new Redis(services.redisUrl);
  await redis.set(redisKey, JSON.stringify({ seeded: new Date().toISOString() }));
  redis.disconnect();

  const start = async (name, entry, extraEnv, probe, nodeFlags = []) => {
    const port = await freePort();
    const s = startNode({ name, entry, env: { ...env, PORT: String(port), ...extraEnv }, cpu: serverCpu, cwd: root, logFile: path.join(dataDir, `${name}.log`), nodeFlags });
    cleanups.unshift(() => stopNode(s));
    await waitHttp(s, `http://127.0.0.1:${port}${probe}`);
    return { ...s, port };
  };
  const projectEnv = {
    ENVIRONMENT: 'production',
    HOST: '127.0.0.1',
    TAKOS_DATA_DIR: path.join(dataDir, 'project'),
    REDIS_PREFIX: 'takos-bench-actors:',
    SERVICE_TOKEN_SECRET: randomBytes(32).toString('hex'),
  };
  const baseline = await start('baseline', 'bench/foundation/baseline.ts', { BENCH_ROW_ID: seed.spaceId, BENCH_REDIS_KEY: redisKey }, '/baseline');
  // Diagnostics: extra node flags for the project server (e.g. BENCH_NODE_FLAGS=--trace-gc, with --keep-data to read project.log).
  const projectFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  if (projectFlags.length) notes.push(`project server node flags: ${projectFlags.join(' ')}`);
  const project = await start('project', 'bench/actors-http/server.ts', projectEnv, '/', projectFlags);

  // wrk scripts: POST to one key or spread over many (a different key per request, in a fixed pseudo-random order).
  const script = (keys) => {
    const file = path.join(dataDir, `keys-${keys}.lua`);
    writeFileSync(
      file,
      `-- generated by bench/actors-http/run.mjs\nlocal n = 0\nrequest = function()\n  n = n + 1\n  return wrk.format("POST", "/bench/actors/k" .. ((n * 7919) % ${keys}) .. "/add")\nend\n`,
    );
    return file;
  };
  const auth = `Authorization: Bearer ${seed.token}`;
  const targets = {
    baseline: { server: baseline, args: (d) => ['-t1', `-c${opt.connections}`, `-d${d}s`, '--latency', `http://127.0.0.1:${baseline.port}/baseline`] },
    many: { server: project, args: (d) => ['-t1', `-c${opt.connections}`, `-d${d}s`, '--latency', '-s', script(opt.keys), '-H', auth, `http://127.0.0.1:${project.port}/`] },
    hot: { server: project, args: (d) => ['-t1', `-c${opt.connections}`, `-d${d}s`, '--latency', '-s', script(1), '-H', auth, `http://127.0.0.1:${project.port}/`] },
  };
  await verify(baseline, project, seed);

  for (const t of Object.keys(targets)) await runWrk(targets[t].args(opt.warmup), loadCpu);
  const sql = postgres(services.databaseUrl, { max: 1, onnotice: () => {} });
  const total = async () => Number((await sql`SELECT coalesce(sum(n), 0)::bigint AS n FROM bench_http_counter`)[0].n);
  const rounds = [];
  for (let n = 1; n <= opt.rounds; n++) {
    const order = n % 2 ? ['baseline', 'many', 'hot'] : ['hot', 'many', 'baseline'];
    for (const t of order) {
      let r;
      for (let attempt = 1; ; attempt++) {
        if (v.settle) await sql.unsafe('CHECKPOINT').then(() => sql.unsafe('VACUUM (ANALYZE)'));
        services.repin();
        await waitQuiet({ quietPct: opt['quiet-pct'], maxWaitS: opt['max-wait'], notes, label: `round ${n} ${t}` });
        const before = t === 'baseline' ? null : await total();
        const win = cpuWindow();
        const w = await runWrk(targets[t].args(opt.duration), loadCpu);
        const cpu = win.end({ server: [targets[t].server.pid], services: services.servicePids });
        // Let requests still in flight when wrk stopped finish before counting what was committed.
        await new Promise((res) => setTimeout(res, 300));
        const committed = t === 'baseline' ? null : (await total()) - before;
        delete w.raw;
        r = {
          round: n,
          target: t,
          ...w,
          committed,
          // Every 2xx answer is a committed turn; turns whose answer wrk did not wait for (at most one per connection) may add to it.
          durable: committed === null ? null : committed >= w.requests - w.non2xx && committed - (w.requests - w.non2xx) <= opt.connections,
          serverCpuPct: (cpu.cpuS.server / cpu.elapsedS) * 100,
          serverUsPerReq: (cpu.cpuS.server * 1e6) / w.requests,
          servicesCpuPct: (cpu.cpuS.services / cpu.elapsedS) * 100,
          cores: cpu.cores,
          noisePct: cpu.foreignPct,
        };
        if (r.noisePct <= opt['quiet-pct'] || attempt >= opt.attempts) break;
        log(`round ${n} ${t}: other work took ${Math.round(r.noisePct)}% of a core; running it again`);
      }
      if (r.noisePct > opt['quiet-pct']) notes.push(`round ${n} ${t}: other work took ${Math.round(r.noisePct)}% of a core during it; kept`);
      if (r.non2xx || r.socketErrors) notes.push(`round ${n} ${t}: ${r.non2xx} non-2xx, ${r.socketErrors} socket errors`);
      if (r.durable === false) notes.push(`round ${n} ${t}: ${r.requests - r.non2xx} answered 2xx but ${r.committed} increments committed`);
      rounds.push(r);
      log(`round ${n} ${t}: ${Math.round(r.rps)} req/s, p99 ${r.p99Ms.toFixed(2)} ms, server ${Math.round(r.serverCpuPct)}%`);
    }
  }
  await sql.end();

  const summary = summarizeActors(rounds, { connections: opt.connections });
  const result = {
    bench: 'actors-http',
    date: new Date().toISOString().slice(0, 10),
    finishedAt: new Date().toISOString(),
    totalSeconds: (Date.now() - started) / 1000,
    command: `npm run bench:actors${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    commands: Object.fromEntries(Object.entries(targets).map(([k, t]) => [k, `taskset -c ${loadCpu} wrk ${t.args(opt.duration).map((a) => a.replace(seed.token, 'tak_pat_<redacted>')).map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(' ')}`])),
    machine: await machineInfo(services.databaseUrl, services.redisUrl, { wrk: wrkVersion() }),
    config: {
      rounds: opt.rounds,
      'round length (s)': opt.duration,
      'warm-up per target (s)': opt.warmup,
      'round order': 'alternating: baseline, many, hot / hot, many, baseline ...',
      'wrk threads / connections': `1 / ${opt.connections}`,
      pinning: `servers on CPU ${serverCpu}; wrk, Postgres (postmaster and every backend) and Redis on CPU ${loadCpu}`,
      'project server': 'bench/actors-http/server.ts: createHttpServer (the product front: admission, PAT auth, validation) + one bench route -> ActorSystem (production defaults, hosting every partition of the bench kind), ENVIRONMENT=production, LOG_LEVEL=warn, default PG_POOL_MAX',
      'project request': `POST /bench/actors/k<i>/add with a PAT; "many": i = (n * 7919) mod ${opt.keys} per request; "hot": always k0`,
      'baseline server': 'bench/foundation/baseline.ts: uWS, ioredis GET (auto-pipelined), postgres.js pool 50 PK SELECT',
      services: services.servicePids.length ? 'throwaway Postgres 15 (fsync on) and Redis (no persistence), started by the bench' : 'external',
      'shared-machine guard': `wait until other work uses <= ${opt['quiet-pct']}% of a core (up to ${opt['max-wait']} s); re-run a round above it (up to ${opt.attempts} attempts)`,
    },
    rounds,
    summary,
    notes,
  };
  if (!v['no-write']) {
    const files = writeActorsReport(path.join(root, 'bench'), result);
    log(`results written to ${path.relative(root, files.md)} and ${path.relative(root, files.json)}`);
  }
  process.exitCode = 0;
} catch (err) {
  log(`bench failed: ${err instanceof Error ? err.stack : String(err)}`);
  log(`logs kept in ${dataDir}`);
  process.exitCode = 1;
} finally {
  for (const c of cleanups) await c().catch(() => {});
  if (services) await services.stop();
  if (process.exitCode === 0 && !v['keep-data']) rmSync(dataDir, { recursive: true, force: true });
}

/** Both servers answer what they should before any load: the counter increments durably; no token is a 401. */
async function verify(baseline, project, seed) {
  const b = await fetch(`http://127.0.0.1:${baseline.port}/baseline`);
  const bt = await b.text();
  if (b.status !== 200 || JSON.parse(bt).id !== seed.spaceId) throw new Error(`baseline answered ${b.status}: ${bt}`);
  const url = `http://127.0.0.1:${project.port}/bench/actors/verify/add`;
  const one = await (await fetch(url, { method: 'POST', headers: { Authorization: `Bearer ${seed.token}` } })).json();
  const two = await (await fetch(url, { method: 'POST', headers: { Authorization: `Bearer ${seed.token}` } })).json();
  if (one.n !== 1 || two.n !== 2) throw new Error(`project answered ${JSON.stringify(one)} then ${JSON.stringify(two)}, expected n 1 then 2`);
  const anon = await fetch(url, { method: 'POST' });
  if (anon.status !== 401) throw new Error(`project without a token answered ${anon.status}, expected 401`);
}
