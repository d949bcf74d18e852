/**
 * Actor turn micro-benchmark (no HTTP): turns/s through the actor host on one hot key and over 1,000 keys, with the
 * composite baseline of perf/ceilings.md (1 Redis GET + 1 Postgres PK SELECT per operation, ioredis auto-pipelined,
 * postgres.js pool 50) measured in the same run, plus durable-timer detection lateness at 10,000 timers.
 *
 * A turn here is what the HTTP benchmark will drive: command -> durable state change (a row upserted in the
 * kind's own table, in a fenced transaction) -> reply. "local" sends come from the process that owns the partition
 * (in-memory mailbox, the web process's fast path); "remote" sends come from a second actor system that owns
 * nothing (XADD to the partition stream, reply by pub/sub, an actor_commands row per command for idempotency).
 *
 * Run through `node bench/actors/run.mjs` (starts a throwaway Postgres + Redis), or directly with DATABASE_URL and
 * REDIS_URL set: node --import tsx bench/actors/turns.ts [--duration 5] [--senders 50] [--keys 1000] [--timers 10000]
 * [--sweep] (also tries maxConcurrentCommits 1/2/4 and maxTurnsPerRound 1 on the 1,000-key case).
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { Redis } from 'ioredis';
import { loadConfig } from '../../runtime/config.ts';
import { createDb } from '../../runtime/db.ts';
import { createKernel, type Kernel } from '../../runtime/kernel.ts';
import { createLogger } from '../../runtime/log.ts';
import { migrate } from '../../runtime/migrate.ts';
import { ActorSystem, type ActorKind, type ActorSystemOptions } from '../../runtime/actors/index.ts';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    senders: { type: 'string', default: '50' },
    keys: { type: 'string', default: '1000' },
    timers: { type: 'string', default: '10000' },
    sweep: { type: 'boolean', default: false },
    only: { type: 'string', default: '' },
    baseline: { type: 'string', default: 'yes' },
  },
});
const DURATION_MS = Number(args.duration) * 1000;
const SENDERS = Number(args.senders);
const KEYS = Number(args.keys);
const TIMERS = Number(args.timers);
const out = (line: string) => process.stdout.write(line + '\n');

interface Counter {
  n: number;
}
type Cmd = { type: 'add' } | { type: 'alarm'; at: string };

/** The benchmark's actor kind: a counter with its own table; each turn upserts one row. Timer lateness is recorded. */
function counterKind(lateness: number[]): ActorKind<Counter, Cmd, number> {
  return {
    name: 'benchcounter',
    async load(sql, id) {
      const [r] = await sql<{ n: string }[]>`SELECT n FROM bench_counter WHERE id = ${id}`;
      return { n: r ? Number(r.n) : 0 };
    },
    handle(state, cmd, ctx) {
      if (cmd.type === 'alarm') {
        ctx.setTimer('alarm', new Date(cmd.at));
        return { state, reply: state.n };
      }
      return { state: { n: state.n + 1 }, reply: state.n + 1 };
    },
    onTimer(state, timer, ctx) {
      lateness.push(ctx.now.getTime() - timer.dueAt.getTime());
      return { state: { n: state.n + 1 } };
    },
    persist(tx, changes) {
      return tx`
        INSERT INTO bench_counter (id, n)
        SELECT * FROM unnest(${changes.map((c) => c.id)}::text[], ${changes.map((c) => c.state.n)}::bigint[])
        ON CONFLICT (id) DO UPDATE SET n = EXCLUDED.n`;
    },
  };
}

interface Result {
  ops: number;
  p50: number;
  p99: number;
}

/** `senders` concurrent loops calling `op` for the duration (after a 1 s warm-up); each awaits before the next. */
async function drive(op: (worker: number, i: number) => Promise<unknown>): Promise<Result> {
  const loop = async (until: number, lat: number[] | null) => {
    let i = 0;
    await Promise.all(
      Array.from({ length: SENDERS }, async (_, w) => {
        while (performance.now() < until) {
          const t = performance.now();
          await op(w, i++);
          lat?.push(performance.now() - t);
        }
      }),
    );
  };
  await loop(performance.now() + 1000, null);
  const lat: number[] = [];
  const t0 = performance.now();
  await loop(t0 + DURATION_MS, lat);
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { ops: lat.length / secs, p50: pct(lat, 0.5), p99: pct(lat, 0.99) };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
const fmt = (r: Result) => `${r.ops.toFixed(0).padStart(7)} ops/s   p50 ${r.p50.toFixed(2)} ms   p99 ${r.p99.toFixed(2)} ms`;

async function main() {
  const url = process.env.DATABASE_URL;
  const redisUrl = process.env.REDIS_URL;
  if (!url || !redisUrl) throw new Error('DATABASE_URL and REDIS_URL are required (or run bench/actors/run.mjs)');
  const dbName = `bench_actors_${process.pid}`;
  const admin = createDb({ url, max: 1 });
  await admin.unsafe(`CREATE DATABASE "${dbName}"`);
  const kernels: Kernel[] = [];
  try {
    const config = loadConfig({
      ...process.env,
      ENVIRONMENT: 'production',
      LOG_LEVEL: 'warn',
      REDIS_PREFIX: `bench-actors-${process.pid}:`,
      SERVICE_TOKEN_SECRET: randomBytes(32).toString('hex'),
      TAKOS_DATA_DIR: os.tmpdir(),
    });
    const mk = async () => {
      const k = await createKernel(config, { log: createLogger('warn'), database: dbName });
      kernels.push(k);
      return k;
    };
    const k1 = await mk();
    await migrate(k1.sql);
    await k1.sql`CREATE TABLE bench_counter (id text PRIMARY KEY, n bigint NOT NULL)`;
    const lateness: number[] = [];
    const kind = counterKind(lateness);

    out(`# actor turns micro-benchmark  ${new Date().toISOString()}`);
    out(`node ${process.version}, ${os.cpus().length} vCPU (${os.cpus()[0]?.model ?? '?'}), PG_POOL_MAX ${config.PG_POOL_MAX}`);
    out(`duration ${DURATION_MS / 1000} s per case (+1 s warm-up), ${SENDERS} concurrent senders, ${KEYS} keys for the many-key cases`);

    // Baseline: 1 Redis GET + 1 PG PK SELECT per op, the stack's composite ceiling, same process and services.
    const bsql = postgres(url, { database: dbName, max: 50, prepare: true, onnotice: () => {} });
    const bredis = new Redis(redisUrl, { enableAutoPipelining: true });
    await bredis.set('bench-actors-key', 'x');
    await k1.sql`INSERT INTO bench_counter (id, n) SELECT 'k' || g, 0 FROM generate_series(0, ${KEYS - 1}) g`;
    const baseline =
      args.baseline === 'no'
        ? { ops: NaN, p50: NaN, p99: NaN }
        : await drive(async (w, i) => {
            await bredis.get('bench-actors-key');
            await bsql`SELECT id, n FROM bench_counter WHERE id = ${'k' + ((i * 7919 + w) % KEYS)}`;
          });
    await bsql.end();
    bredis.disconnect();
    out(`\nbaseline (1 Redis GET + 1 PG PK SELECT)      ${fmt(baseline)}`);

    const runCase = async (label: string, opts: ActorSystemOptions, remote: boolean, key: (w: number, i: number) => string) => {
      if (args.only && !label.includes(args.only)) return;
      const owner = new ActorSystem(await mk(), { leaseTtlMs: 3000, ...opts });
      owner.register(kind);
      await owner.start();
      let sender = owner;
      if (remote) {
        sender = new ActorSystem(await mk(), { hosting: false, ...opts });
        sender.register(kind);
        await sender.start();
      }
      const c0 = owner.stats(kind.name).commits;
      const t0 = owner.stats(kind.name).turns;
      const r = await drive((w, i) => sender.send(kind, key(w, i), { type: 'add' }));
      const perCommit = (owner.stats(kind.name).turns - t0) / Math.max(1, owner.stats(kind.name).commits - c0);
      out(`${label.padEnd(44)} ${fmt(r)}   ${perCommit.toFixed(1)} turns/commit   ${(r.ops / baseline.ops).toFixed(2)}x baseline`);
      if (sender !== owner) await sender.stop();
      await owner.stop();
      return r;
    };

    const many = (w: number, i: number) => `k${(i * 7919 + w) % KEYS}`;
    out('');
    await runCase('local, one hot key', {}, false, () => 'hot');
    await runCase(`local, ${KEYS} keys`, {}, false, many);
    await runCase('remote (stream + pub/sub), one hot key', {}, true, () => 'hot');
    await runCase(`remote (stream + pub/sub), ${KEYS} keys`, {}, true, many);
    if (args.sweep) {
      out('\nsweep (local, many keys):');
      for (const c of [1, 2, 4]) await runCase(`  maxConcurrentCommits ${c}`, { maxConcurrentCommits: c }, false, many);
      await runCase('  maxTurnsPerRound 1 (no group commit per actor)', { maxTurnsPerRound: 1 }, false, () => 'hot');
      await runCase('  maxBatchTurns 1 (one transaction per round)', { maxBatchTurns: 1, maxConcurrentCommits: 8 }, false, many);
    }

    // Timers: TIMERS actors each set one timer, due uniformly over the 3 s after scheduling ends.
    const owner = new ActorSystem(await mk(), { leaseTtlMs: 3000 });
    owner.register(kind);
    await owner.start();
    // Due times start after scheduling is over (1 ms per timer is ample), so lateness measures detection only.
    const scheduledAt = Date.now();
    const dueFrom = scheduledAt + 2_000 + TIMERS;
    for (let i = 0; i < TIMERS; i += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, TIMERS - i) }, (_, j) =>
          owner.send(kind, `t${i + j}`, { type: 'alarm', at: new Date(dueFrom + ((i + j) * 3000) / TIMERS).toISOString() }),
        ),
      );
    }
    const scheduling = Date.now() - scheduledAt;
    if (Date.now() > dueFrom) out(`(warning: scheduling took ${scheduling} ms and overlapped the due times)`);
    const deadline = dueFrom + 30_000;
    while (lateness.length < TIMERS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    lateness.sort((a, b) => a - b);
    out(
      `\ntimers: ${lateness.length}/${TIMERS} fired; detection lateness p50 ${pct(lateness, 0.5)} ms, p99 ${pct(lateness, 0.99)} ms, max ${lateness[lateness.length - 1]} ms, min ${lateness[0]} ms (timerPollMs ${owner.options.timerPollMs})`,
    );
    await owner.stop();
  } finally {
    for (const k of kernels) await k.close().catch(() => undefined);
    await admin.unsafe(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}

await main();
