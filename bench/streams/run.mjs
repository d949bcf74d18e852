#!/usr/bin/env node
// `npm run bench:streams [-- options]`: the event-stream benchmarks of issue 4, item 6 (a)-(d), each a ratio to a
// baseline measured in the same run (perf/ceilings.md):
//   memory   (d) idle memory per SSE / WebSocket connection (--idle connections each)
//   fanout   (a) one run, --subs SSE + --subs WebSocket subscribers: server CPU per delivery vs raw uWS
//   latency  (c) unloaded append -> SSE client latency at --subs subscribers
//   append   (b) durable event appends per second vs pipelined ioredis XADD
// Servers on --server-cpu (0); the C/epoll client (subs.c, compiled here with cc), the drivers, Postgres and Redis
// on --load-cpu (1). Writes bench/results/streams-<date>.{md,json}. `--only fanout,latency` runs a subset.
import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { ensureNodeModules } from '../../scripts/lib/services.mjs';
import { ccVersion, compileC, log, machineInfo, root, startServices, tsxJson } from '../lib/harness.mjs';
import { createContext } from './lib/context.mjs';
import { writeStreamsReport } from './lib/report.mjs';
import { memory } from './parts/memory.mjs';
import { fanout } from './parts/fanout.mjs';
import { latency } from './parts/latency.mjs';
import { append } from './parts/append.mjs';

const PARTS = ['memory', 'fanout', 'latency', 'append'];
const { values: v } = parseArgs({
  options: {
    only: { type: 'string', default: PARTS.join(',') },
    subs: { type: 'string', default: '1000' },
    idle: { type: 'string', default: '10000' },
    /** Memory cases to run (default all): baseline-sse, baseline-websocket, project-sse, project-websocket. */
    'memory-cases': { type: 'string', default: '' },
    duration: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '2' },
    /** Fan-out shapes to run (default both): worker-like, batched. */
    shapes: { type: 'string', default: '' },
    'latency-duration': { type: 'string', default: '5' },
    'latency-interval': { type: 'string', default: '20' },
    'append-runs': { type: 'string', default: '200' },
    'append-batches': { type: 'string', default: '1,10,50' },
    'append-duration': { type: 'string', default: '6' },
    'append-warmup': { type: 'string', default: '2' },
    'server-cpu': { type: 'string', default: '0' },
    'load-cpu': { type: 'string', default: '1' },
    'quiet-pct': { type: 'string', default: '15' },
    attempts: { type: 'string', default: '2' },
    'max-wait': { type: 'string', default: '30' },
    /** CPU profiles of the project server over the first actor/tail fan-out phases and the remote append case. */
    profile: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    'keep-data': { type: 'boolean', default: false },
  },
});
const num = (k) => {
  const n = Number(v[k]);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${k} must be a number`);
  return n;
};
const opt = {
  only: new Set(v.only.split(',').map((s) => s.trim())),
  subs: num('subs'),
  idle: num('idle'),
  memoryCases: v['memory-cases'] ? v['memory-cases'].split(',') : null,
  duration: num('duration'),
  rounds: num('rounds'),
  shapes: v.shapes ? v.shapes.split(',') : null,
  latencyDuration: num('latency-duration'),
  latencyInterval: num('latency-interval'),
  appendRuns: num('append-runs'),
  appendBatches: v['append-batches'].split(',').map(Number),
  appendDuration: num('append-duration'),
  appendWarmup: num('append-warmup'),
  serverCpu: v['server-cpu'],
  loadCpu: v['load-cpu'],
  quietPct: num('quiet-pct'),
  attempts: Math.max(1, num('attempts')),
  maxWait: num('max-wait'),
  profile: v.profile,
};
for (const p of opt.only) if (!PARTS.includes(p)) throw new Error(`--only: unknown part ${p} (parts: ${PARTS.join(', ')})`);
if (os.availableParallelism() < 2) throw new Error('this bench pins servers and load to different cores: it needs at least 2 CPUs');
ensureNodeModules();

const dataDir = path.join(root, '.data', `bench-streams-${process.pid}`);
rmSync(dataDir, { recursive: true, force: true });
mkdirSync(dataDir, { recursive: true });
const notes = [];
const started = Date.now();
let ctx = null;
let services = null;
// Interrupted (Ctrl-C, timeout): stop every child and the services before leaving, keeping the logs.
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    log(`${sig}: stopping servers and services; logs kept in ${dataDir}`);
    void (async () => {
      if (ctx) for (const c of ctx.cleanups) await c().catch(() => {});
      if (services) await services.stop();
      process.exit(130);
    })();
  });
}

try {
  const subsBin = compileC(path.join(root, 'bench/streams/subs.c'), path.join(dataDir, 'subs'));
  services = await startServices({ dataDir, loadCpu: opt.loadCpu, notes, database: 'takos_bench_streams' });
  const seed = tsxJson(['bench/lib/seed.ts', '--runs', String(3 + 2 * opt.appendRuns)], { ...process.env, DATABASE_URL: services.databaseUrl, LOG_LEVEL: 'warn' });
  ctx = createContext({ opt, dataDir, notes, services, seed, subsBin, secret: randomBytes(32).toString('hex') });
  ctx.root = root;
  const result = { parts: {} };
  const timed = async (name, fn) => {
    const t0 = Date.now();
    log(`part ${name}`);
    result.parts[name] = await fn();
    result.parts[name].seconds = (Date.now() - t0) / 1000;
  };

  if (opt.only.has('memory')) await timed('memory', () => memory(ctx, { dataDir }));
  const needServers = ['fanout', 'latency', 'append'].some((p) => opt.only.has(p));
  if (needServers) {
    const baseline = await ctx.server('baseline', { project: false });
    let project = await ctx.server('project', {
      project: true,
      ...(opt.profile ? { nodeFlags: ctx.profilerFlags(), env: { BENCH_PROFILE_OUT: ctx.profileOut } } : {}),
    });
    project.profiled = opt.profile;
    if (opt.only.has('fanout')) await timed('fanout', () => fanout(ctx, { baseline, project }));
    if (opt.only.has('latency')) await timed('latency', () => latency(ctx, { baseline, project }));
    // The shared drivers hold run leases and the web server hosts partitions: both go before the local append case.
    for (const d of Object.values(ctx.sharedDrivers())) await (await d).stop();
    if (opt.only.has('append')) {
      await timed('append', () =>
        append(ctx, {
          project,
          stopProject: async () => {
            await project.stop();
            project = null;
          },
        }),
      );
    }
  }

  const full = {
    bench: 'streams',
    date: new Date().toISOString().slice(0, 10),
    finishedAt: new Date().toISOString(),
    totalSeconds: (Date.now() - started) / 1000,
    command: `npm run bench:streams${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    machine: await machineInfo(services.databaseUrl, services.redisUrl, { cc: ccVersion() }),
    config: {
      parts: [...opt.only].join(', '),
      pinning: `servers on CPU ${opt.serverCpu}; C client, drivers, Postgres (postmaster and backends) and Redis on CPU ${opt.loadCpu} (the append baseline and the local append case run their driver on CPU ${opt.serverCpu})`,
      client: 'bench/streams/subs.c: one epoll loop, compiled with cc -O2; counts frames and checks per-connection id contiguity',
      subscribers: `${opt.subs} SSE + ${opt.subs} WebSocket (fan-out), ${opt.subs} SSE (latency), ${opt.idle} per transport (memory)`,
      'fan-out phases': `${opt.rounds} round(s) per shape, ${opt.duration} s each after a 10-append warm-up`,
      'latency phase': `${opt.latencyDuration} s, one event every ${opt.latencyInterval} ms`,
      'append cases': `${opt.appendRuns} runs, one emit in flight per run, batches of ${opt.appendBatches.join(' and ')} event(s); ${opt.appendWarmup} s warm-up + ${opt.appendDuration} s`,
      'project server': 'node --import tsx web.ts (ENVIRONMENT=production, LOG_LEVEL=warn, default PG_POOL_MAX), routes /api/runs/:id/sse and /api/runs/:id/ws with a PAT',
      services: services.servicePids.length ? 'throwaway Postgres 15 (fsync on) and Redis (no persistence), started by the bench' : 'external',
      'shared-machine guard': `wait until other work uses <= ${opt.quietPct}% of a core (up to ${opt.maxWait} s); re-run a fan-out/latency phase above it (up to ${opt.attempts} attempts)`,
    },
    ...result,
    profiles: ctx.profiles,
    notes,
  };
  if (!v['no-write']) {
    const files = writeStreamsReport(path.join(root, 'bench'), full);
    log(`results written to ${path.relative(root, files.md)} and ${path.relative(root, files.json)}`);
  }
  process.exitCode = 0;
} catch (err) {
  log(`bench failed: ${err instanceof Error ? err.stack : String(err)}`);
  log(`logs kept in ${dataDir}`);
  process.exitCode = 1;
} finally {
  if (ctx) for (const c of ctx.cleanups) await c().catch(() => {});
  if (services) await services.stop();
  if (process.exitCode === 0 && !v['keep-data']) rmSync(dataDir, { recursive: true, force: true });
}
