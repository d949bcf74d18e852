// (a) One run, N SSE + N WebSocket subscribers: server CPU per delivery, project vs the raw uWS baseline, with the
// same events fed to both. Three targets per round, in alternating order:
//   baseline  bench/streams/baseline.ts fed by PUBLISH of the same batches
//   actor     the real server (web.ts), events emitted through the run actor by a worker-like sender
//             (turn -> Postgres commit -> tail append + publish -> hub -> SSE writes and uWS topic publish)
//   tail      the real server, events appended with kernel.streams.tail.append (transport only, no actor, no Postgres)
// Two shapes: "worker-like" (1 event per append, as the run worker flushes model deltas) and "batched".
import { cpuWindow, median } from '../../lib/harness.mjs';
import { sleep } from '../lib/context.mjs';

// Rates: the baseline server should stay well under one core (a saturated server batches more per syscall, which
// flatters whichever side is slower). worker-like: 50 events/s x 2,000 subscribers = 100k deliveries/s, the run
// worker's pace (one flush per 50 ms) times 2.5; batched: 500 events/s = 1M deliveries/s.
// "per-append": one SSE + one WS subscriber, one round: what each append costs the server apart from fan-out (the
// actor path's turn, commit and tail append, every I/O wake-up of an idle core included).
export const SHAPES = [
  { name: 'worker-like', batch: 1, intervalMs: 20 },
  { name: 'batched', batch: 10, intervalMs: 20 },
  { name: 'per-append', batch: 1, intervalMs: 20, subs: 1, rounds: 1 },
];

export async function fanout(ctx, { baseline, project }) {
  const { opt, seed } = ctx;
  const runA = seed.runIds[0];
  const runT = seed.runIds[1];
  const targets = {
    baseline: { name: 'baseline', server: baseline, port: baseline.port, driver: await ctx.sharedDriver('raw', { mode: 'raw', runs: ['baseline'], channel: ctx.channel }), ssePath: () => '/sse', wsPath: () => '/ws', header: null },
    actor: {
      name: 'actor',
      server: project,
      port: project.port,
      driver: await ctx.sharedDriver('actor', { mode: 'actor', runs: [runA] }),
      ssePath: () => `/api/runs/${runA}/sse`,
      wsPath: (k) => `/api/runs/${runA}/ws?last_event_id=${k}`,
      header: ctx.header,
    },
    tail: {
      name: 'tail',
      server: project,
      port: project.port,
      driver: await ctx.sharedDriver('tail', { mode: 'tail', runs: [runT] }),
      ssePath: () => `/api/runs/${runT}/sse`,
      wsPath: (k) => `/api/runs/${runT}/ws?last_event_id=${k}`,
      header: ctx.header,
    },
  };
  // What each server burns with nothing to deliver (the project: actor ownership ticks, timer polls, metrics), so a
  // slow phase's per-delivery figure can be read against it.
  const idle = {};
  for (const [k, s] of [['baseline', baseline], ['project', project]]) {
    const win = cpuWindow();
    await sleep(3000);
    const c = win.end({ server: [s.pid] });
    idle[k] = { cpuPct: (c.cpuS.server / c.elapsedS) * 100, noisePct: c.foreignPct };
  }
  const phases = [];
  for (const shape of SHAPES.filter((x) => !opt.shapes || opt.shapes.includes(x.name))) {
    const appends = Math.round((opt.duration * 1000) / shape.intervalMs);
    const subs = shape.subs ?? opt.subs;
    for (let round = 1; round <= (shape.rounds ?? opt.rounds); round++) {
      const order = round % 2 ? ['baseline', 'actor', 'tail'] : ['tail', 'actor', 'baseline'];
      for (const t of order) {
        const label = `fanout ${shape.name} round ${round} ${t}`;
        const profile = round === 1 && t !== 'baseline';
        const r = await ctx.phase({ label, target: targets[t], sse: subs, ws: subs, batch: shape.batch, intervalMs: shape.intervalMs, appends, profile });
        phases.push({ shape: shape.name, round, ...r });
        ctx.log(
          `${label}: ${r.serverUsPerDelivery?.toFixed(3)} us/delivery (event-loop thread ${r.serverMainUsPerDelivery?.toFixed(3)}), ` +
            `${Math.round(r.deliveriesPerS)} deliveries/s, server ${r.serverCpuPct.toFixed(0)}%, ` +
            `client ${r.clientCpuPct.toFixed(0)}%, append p50/p99 ${r.appendMs.p50?.toFixed(1)}/${r.appendMs.p99?.toFixed(1)} ms, ${r.complete ? 'complete' : 'INCOMPLETE'}`,
        );
        if (!r.complete) ctx.notes.push(`${label}: ${r.deliveries} of ${r.expected} deliveries, ${r.gaps} gaps, ${r.dups} duplicates, ${r.closed} closed`);
      }
    }
  }
  return { idle, phases, summary: summarizeFanout(phases) };
}

export function summarizeFanout(phases) {
  return SHAPES.filter((shape) => phases.some((p) => p.shape === shape.name)).map((shape) => {
    const side = (t) => {
      const ps = phases.filter((p) => p.shape === shape.name && p.target === t);
      return {
        usPerDelivery: median(ps.map((p) => p.serverUsPerDelivery)),
        usPerAppend: median(ps.map((p) => (p.serverUsPerDelivery * p.deliveries) / (p.events / p.batch))),
        serverCpuPct: median(ps.map((p) => p.serverCpuPct)),
        clientCpuPct: median(ps.map((p) => p.clientCpuPct)),
        deliveriesPerS: median(ps.map((p) => p.deliveriesPerS)),
        complete: ps.every((p) => p.complete),
      };
    };
    const b = side('baseline');
    const a = side('actor');
    const t = side('tail');
    return {
      shape: shape.name,
      subscribers: shape.subs ?? null,
      batch: shape.batch,
      intervalMs: shape.intervalMs,
      baseline: b,
      actor: a,
      tail: t,
      ratioActor: a.usPerDelivery / b.usPerDelivery,
      ratioTail: t.usPerDelivery / b.usPerDelivery,
      // The goal is about fan-out at 1,000 + 1,000 subscribers; the per-append shape is a diagnostic.
      goal: shape.subs ? null : { max: 2, met: a.usPerDelivery / b.usPerDelivery <= 2 && a.complete && t.complete },
    };
  });
}
