// (a) One run, N SSE + N WebSocket subscribers: server CPU per delivery, project vs the raw uWS baseline, with the
// same events fed to both. Three targets per round, in alternating order:
//   baseline  bench/streams/baseline.ts fed by PUBLISH of the same batches
//   actor     the real server (web.ts), events emitted through the run actor by a worker-like sender
//             (turn -> Postgres commit -> tail append + publish -> hub -> SSE writes and uWS topic publish)
//   tail      the real server, events appended with kernel.streams.tail.append (transport only, no actor, no Postgres)
// Two shapes: "worker-like" (1 event per append, as the run worker flushes model deltas) and "batched".
import { cpuWindow, median } from '../../lib/harness.mjs';
import { sleep } from '../lib/context.mjs';

export const SHAPES = [
  { name: 'worker-like', batch: 1, intervalMs: 10 },
  { name: 'batched', batch: 10, intervalMs: 20 },
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
  for (const shape of SHAPES) {
    const appends = Math.round((opt.duration * 1000) / shape.intervalMs);
    for (let round = 1; round <= opt.rounds; round++) {
      const order = round % 2 ? ['baseline', 'actor', 'tail'] : ['tail', 'actor', 'baseline'];
      for (const t of order) {
        const label = `fanout ${shape.name} round ${round} ${t}`;
        const r = await ctx.phase({ label, target: targets[t], sse: opt.subs, ws: opt.subs, batch: shape.batch, intervalMs: shape.intervalMs, appends });
        phases.push({ shape: shape.name, round, ...r });
        ctx.log(`${label}: ${r.serverUsPerDelivery?.toFixed(3)} us/delivery, server ${r.serverCpuPct.toFixed(0)}%, client ${r.clientCpuPct.toFixed(0)}%, ${r.complete ? 'complete' : 'INCOMPLETE'}`);
        if (!r.complete) ctx.notes.push(`${label}: ${r.deliveries} of ${r.expected} deliveries, ${r.gaps} gaps, ${r.dups} duplicates, ${r.closed} closed`);
      }
    }
  }
  return { idle, phases, summary: summarizeFanout(phases) };
}

export function summarizeFanout(phases) {
  return SHAPES.map((shape) => {
    const side = (t) => {
      const ps = phases.filter((p) => p.shape === shape.name && p.target === t);
      return {
        usPerDelivery: median(ps.map((p) => p.serverUsPerDelivery)),
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
      batch: shape.batch,
      intervalMs: shape.intervalMs,
      baseline: b,
      actor: a,
      tail: t,
      ratioActor: a.usPerDelivery / b.usPerDelivery,
      ratioTail: t.usPerDelivery / b.usPerDelivery,
      goal: { max: 2, met: a.usPerDelivery / b.usPerDelivery <= 2 && a.complete && t.complete },
    };
  });
}
