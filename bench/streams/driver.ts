/**
 * The event source of bench/streams: appends events to run streams the way the project does, or publishes the same
 * batches raw for the baseline. One process per phase; it prints {"ready":...} and then obeys JSON commands on
 * stdin, answering each with one JSON line.
 *
 * Modes (--mode):
 *   actor  as a run worker does: claims the runs through the run actor, then `emit` commands
 *          (actors.send(runKind, id, {type:'emit', ...})): actor turn -> Postgres commit (runs row + run_events)
 *          -> Redis tail append + publish (compose.ts' commit listener) -> reply. With --host-actors this process
 *          hosts the run partitions itself (composeApp, the web process's local fast path); without, it is a
 *          non-hosting sender (a worker: partition stream + reply by pub/sub) and a web process must host.
 *   tail   the transport part only: kernel.streams.tail.append() (append-tail.lua: XADD + PUBLISH), no Postgres.
 *   raw    the baseline's source: PUBLISH of the same JSON array on --channel.
 *   xadd   the append-rate baseline: pipelined ioredis XADD, batches of 1,000.
 *
 * Commands:
 *   {"cmd":"paced","appends":N,"batch":B,"intervalMs":I}    N appends of B events, one every I ms, one at a time,
 *                                                           to the first run (fan-out and latency phases)
 *   {"cmd":"flood","batch":B,"durationMs":D,"concurrency":C} C loops, each on its own run, appending back to back
 *   {"cmd":"quit"}
 *
 * Event data starts with {"t":<process.hrtime.bigint() ns>}: CLOCK_MONOTONIC, which the C client reads too, so it can
 * compute append -> delivery latency.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { loadConfig } from '../../runtime/config.ts';
import { createKernel, type Kernel } from '../../runtime/kernel.ts';
import { createLogger } from '../../runtime/log.ts';
import { redisKeys } from '../../runtime/keys.ts';
import { EventTail } from '../../runtime/streams/tail.ts';
import type { StreamEvent } from '../../runtime/streams/types.ts';
import { ActorSystem, type ActorSystemOptions } from '../../runtime/actors/index.ts';
import { RUN_KIND, runKind } from '../../actors/run/kind.ts';
import type { ComposedApp } from '../../compose.ts';

const { values: opt } = parseArgs({
  options: {
    mode: { type: 'string' },
    runs: { type: 'string', default: '' },
    channel: { type: 'string', default: '' },
    'start-id': { type: 'string', default: '0' },
    'host-actors': { type: 'boolean', default: false },
  },
});
const mode = opt.mode as 'actor' | 'tail' | 'raw' | 'xadd';
if (!['actor', 'tail', 'raw', 'xadd'].includes(mode)) throw new Error('--mode must be actor, tail, raw or xadd');
const runs = opt.runs.split(',').filter(Boolean);
if (runs.length === 0) throw new Error('--runs is required (comma-separated run ids; keys for raw/xadd)');
const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');

// A message delta of the size a streaming model produces per 50 ms flush (workers/runs/processor.ts).
const DELTA = 'The quick brown fox jumps over the lazy dog; ';
const dataOf = (t: bigint, index: number) => ({ t: Number(t), index, delta: DELTA });

type Append = (run: string, batch: number, index: number) => Promise<number>;

const env = process.env;
let kernel: Kernel | null = null;
let composed: ComposedApp | null = null;
let sender: ActorSystem | null = null;
const redis = new Redis(env.REDIS_URL!, { enableAutoPipelining: true });
const lastIds = new Map<string, number>(runs.map((r) => [r, Number(opt['start-id'])]));
let append: Append;

if (mode === 'actor') {
  const config = loadConfig({ ...env, LOG_LEVEL: 'warn' });
  kernel = await createKernel(config, { log: createLogger('warn') });
  if (opt['host-actors']) {
    // Imported here: only the hosting case needs the whole composition root.
    const { composeApp } = await import('../../compose.ts');
    // BENCH_ACTOR_OPTIONS (JSON ActorSystemOptions): try host settings on the local case without changing defaults.
    const actorOptions = env.BENCH_ACTOR_OPTIONS ? (JSON.parse(env.BENCH_ACTOR_OPTIONS) as ActorSystemOptions) : {};
    composed = await composeApp(kernel, { hosting: true, actors: actorOptions });
    sender = composed.deps.actors;
    // Serve every partition before measuring (a lone host takes all of them at its first ticks).
    for (let i = 0; i < 50 && sender.stats(RUN_KIND).owned.length < (runKind.partitions ?? 64); i++) {
      await sender.rebalance(RUN_KIND);
      await new Promise((r) => setTimeout(r, 100));
    }
  } else {
    sender = new ActorSystem(kernel, { hosting: false });
    sender.register(runKind);
    await sender.start();
  }
  const workerId = `bench-driver-${randomBytes(3).toString('hex')}`;
  const leases = new Map<string, number>();
  const HOUR = 3_600_000;
  for (let i = 0; i < runs.length; i += 50) {
    await Promise.all(
      runs.slice(i, i + 50).map(async (id) => {
        const r = await sender!.send(runKind, id, { type: 'claim', workerId, staleAfterMs: HOUR, deadlineMs: HOUR });
        if (!('claimed' in r) || !r.claimed) throw new Error(`could not claim run ${id}: ${JSON.stringify(r)}`);
        leases.set(id, r.leaseVersion);
      }),
    );
  }
  // The claim itself emits no event; read the current last id so the caller can subscribe after it.
  for (const id of runs) {
    const [row] = await kernel.sql<{ last_event_id: number }[]>`SELECT last_event_id FROM runs WHERE id = ${id}`;
    lastIds.set(id, row?.last_event_id ?? 0);
  }
  append = async (run, batch, index) => {
    const t = process.hrtime.bigint();
    const events = Array.from({ length: batch }, (_, k) => ({ type: 'message_delta', data: dataOf(t, index * batch + k) }));
    const r = await sender!.send(runKind, run, { type: 'emit', workerId, leaseVersion: leases.get(run)!, events });
    if (!('ok' in r)) throw new Error(`emit answered ${JSON.stringify(r)}`);
    lastIds.set(run, r.lastEventId);
    return batch;
  };
} else if (mode === 'tail') {
  const tail = new EventTail(redis, redisKeys(env.REDIS_PREFIX ?? 'takos:'));
  append = async (run, batch, index) => {
    const events = nextEvents(run, batch, index);
    await tail.append(RUN_KIND, run, events);
    return batch;
  };
} else if (mode === 'raw') {
  if (!opt.channel) throw new Error('--channel is required in raw mode');
  append = async (run, batch, index) => {
    await redis.publish(opt.channel, JSON.stringify(nextEvents(run, batch, index)));
    return batch;
  };
} else {
  // Pipelined XADD of the same entries the tail holds (MAXLEN ~ like the tail), 1,000 per pipeline.
  append = async (run, batch, index) => {
    const p = redis.pipeline();
    const events = nextEvents(run, batch, index);
    for (let k = 0; k < events.length; k++) {
      const e = events[k]!;
      p.xadd(`bench-xadd:${runs[k % runs.length]}`, 'MAXLEN', '~', '1000', '*', 'e', JSON.stringify(e));
    }
    await p.exec();
    return batch;
  };
}

function nextEvents(run: string, batch: number, index: number): StreamEvent[] {
  const t = process.hrtime.bigint();
  const created = new Date().toISOString();
  let id = lastIds.get(run)!;
  const events: StreamEvent[] = [];
  for (let k = 0; k < batch; k++) events.push({ id: ++id, type: 'message_delta', data: dataOf(t, index * batch + k), created_at: created });
  lastIds.set(run, id);
  return events;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? null;
const latencySummary = (lat: number[]) => {
  lat.sort((a, b) => a - b);
  return { n: lat.length, p50: pct(lat, 0.5), p99: pct(lat, 0.99), max: lat[lat.length - 1] ?? null };
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function paced(appends: number, batch: number, intervalMs: number) {
  const run = runs[0]!;
  const lat: number[] = [];
  const t0 = performance.now();
  let late = 0;
  for (let i = 0; i < appends; i++) {
    const due = t0 + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    else if (wait < -intervalMs) late++;
    const s = performance.now();
    await append(run, batch, i);
    lat.push(performance.now() - s);
  }
  const elapsedS = (performance.now() - t0) / 1000;
  return { done: true, lastId: lastIds.get(run), appends, events: appends * batch, elapsedS, lateAppends: late, appendMs: latencySummary(lat) };
}

async function flood(batch: number, durationMs: number, concurrency: number) {
  const lat: number[] = [];
  let events = 0;
  const t0 = performance.now();
  const end = t0 + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      const run = runs[w % runs.length]!;
      for (let i = 0; performance.now() < end; i++) {
        const s = performance.now();
        const n = await append(run, batch, i);
        events += n;
        lat.push(performance.now() - s);
      }
    }),
  );
  const elapsedS = (performance.now() - t0) / 1000;
  return { done: true, events, elapsedS, eventsPerS: events / elapsedS, appends: lat.length, appendMs: latencySummary(lat) };
}

out({ ready: true, mode, runs: runs.length, lastId: lastIds.get(runs[0]!) });

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  if (line.trim() === 'quit') break;
  const c = JSON.parse(line) as { cmd: string; appends?: number; batch?: number; intervalMs?: number; durationMs?: number; concurrency?: number };
  try {
    if (c.cmd === 'paced') out(await paced(c.appends!, c.batch!, c.intervalMs!));
    else if (c.cmd === 'flood') out(await flood(c.batch!, c.durationMs!, c.concurrency!));
    else if (c.cmd === 'quit') break;
    else out({ error: `unknown command ${c.cmd}` });
  } catch (err) {
    out({ error: err instanceof Error ? err.message : String(err) });
  }
}

if (composed) await composed.stop();
else if (sender) await sender.stop();
if (kernel) await kernel.close();
redis.disconnect();
process.exit(0);
