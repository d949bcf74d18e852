// (c) Unloaded append -> SSE client latency at N subscribers: one event every --latency-interval ms (sporadic, so
// each append meets an idle server), latency = the client's CLOCK_MONOTONIC at receipt minus the driver's just
// before it issued the append, over every delivery to every subscriber. Same three targets as the fan-out part:
//   baseline  raw PUBLISH -> bare uWS SSE
//   tail      tail.append (XADD + PUBLISH in one script) -> web.ts hub -> SSE
//   actor     emit through the run actor from a worker-like sender: Redis stream -> turn -> Postgres commit
//             (fsync) -> tail append + publish -> hub -> SSE. The durable path, what a run's viewer waits for.
export async function latency(ctx, { baseline, project }) {
  const { opt, seed } = ctx;
  const runA = seed.runIds[0];
  const runT = seed.runIds[1];
  const targets = [
    { name: 'baseline', server: baseline, port: baseline.port, driver: await ctx.sharedDriver('raw', { mode: 'raw', runs: ['baseline'], channel: ctx.channel }), ssePath: () => '/sse', wsPath: () => '/ws', header: null },
    { name: 'tail', server: project, port: project.port, driver: await ctx.sharedDriver('tail', { mode: 'tail', runs: [runT] }), ssePath: () => `/api/runs/${runT}/sse`, wsPath: () => '/', header: ctx.header },
    { name: 'actor', server: project, port: project.port, driver: await ctx.sharedDriver('actor', { mode: 'actor', runs: [runA] }), ssePath: () => `/api/runs/${runA}/sse`, wsPath: () => '/', header: ctx.header },
  ];
  const appends = Math.round((opt.latencyDuration * 1000) / opt.latencyInterval);
  const phases = [];
  for (const t of targets) {
    const label = `latency ${t.name}`;
    const r = await ctx.phase({ label, target: t, sse: opt.subs, ws: 0, batch: 1, intervalMs: opt.latencyInterval, appends });
    phases.push(r);
    ctx.log(`${label}: p50 ${r.sseLatency.p50} ms, p99 ${r.sseLatency.p99} ms, ${r.complete ? 'complete' : 'INCOMPLETE'}`);
    if (!r.complete) ctx.notes.push(`${label}: ${r.deliveries} of ${r.expected} deliveries, ${r.gaps} gaps, ${r.dups} duplicates`);
  }
  const of = (n) => phases.find((p) => p.target === n);
  const goal = { p99MaxMs: 5 };
  goal.met = ['tail', 'actor'].every((n) => of(n).sseLatency.p99 <= goal.p99MaxMs && of(n).complete);
  return { phases, summary: { subscribers: opt.subs, intervalMs: opt.latencyInterval, appends, baseline: of('baseline').sseLatency, tail: of('tail').sseLatency, actor: of('actor').sseLatency, goal } };
}

