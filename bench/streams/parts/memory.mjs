// (d) Idle memory per SSE / WebSocket connection: for each transport, a fresh server (preloaded with gc-hook.mjs,
// --expose-gc) takes 100 connections and drops them (lazy code paths, JIT, pools), is measured after a full GC, then
// takes --idle connections that receive one event (so WebSocket sockets are in their steady state: on the uWS topic,
// their catch-up reader dropped) and sit idle; measured again after a full GC. Per connection = RSS delta / count.
// The project runs the real web.ts on its real routes (authenticated, one run); the baseline is baseline.ts.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { sleep } from '../lib/context.mjs';

const STEPS = 5;

/** Least-squares slope of `key` over the readings' connection counts (bytes per connection). */
function slope(readings, key) {
  const xs = readings.map((m) => m.connections);
  const ys = readings.map((m) => m[key]);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return num / den;
}

export async function memory(ctx, { dataDir }) {
  const { opt, seed } = ctx;
  const run = seed.runIds[2];
  const n = opt.idle;
  const cases = [
    { name: 'baseline SSE', project: false, sse: true },
    { name: 'baseline WebSocket', project: false, sse: false },
    { name: 'project SSE', project: true, sse: true },
    { name: 'project WebSocket', project: true, sse: false },
  ];
  const results = [];
  for (const c of cases) {
    if (opt.memoryCases && !opt.memoryCases.includes(c.name.toLowerCase().replace(/\s+/g, '-'))) continue;
    const slug = c.name.toLowerCase().replace(/\s+/g, '-');
    const file = path.join(dataDir, `mem-${slug}.jsonl`);
    const channel = `${ctx.channel}:mem`;
    const server = await ctx.server(`mem-${slug}`, {
      project: c.project,
      // --no-flush-bytecode: V8 otherwise drops the bytecode of functions unused for a while, a one-off fall of
      // several MB at a moment of its choosing that swamps 10,000 x ~1 KB. It does not change what a connection holds.
      nodeFlags: ['--expose-gc', '--no-flush-bytecode', '--import', path.join(ctx.root, 'bench/streams/lib/gc-hook.mjs')],
      env: { BENCH_MEM_OUT: file, ...(c.project ? {} : { BENCH_CHANNEL: channel }) },
    });
    const driver = c.project ? await ctx.driver({ mode: 'tail', runs: [run], startId: results.filter((r) => r.project).length }) : await ctx.driver({ mode: 'raw', runs: ['mem'], channel });
    const paths = () =>
      c.project
        ? { ssePath: `/api/runs/${run}/sse`, wsPath: `/api/runs/${run}/ws?last_event_id=${driver.lastId}`, header: ctx.header }
        : { ssePath: '/sse', wsPath: '/ws', header: null };
    const open = (count) => ctx.client({ port: server.port, sse: c.sse ? count : 0, ws: c.sse ? 0 : count, after: driver.lastId, ...paths() });
    // One event to every open connection, then idle.
    const event = async (clients) => {
      const d = await driver.request({ cmd: 'paced', appends: 1, batch: 1, intervalMs: 1 });
      driver.lastId = d.lastId;
      let ok = true;
      let openNow = 0;
      for (const cl of clients) {
        const got = await cl.request(`wait ${d.lastId} 20000`, 30_000);
        if (!got.reached) {
          ctx.notes.push(`memory ${c.name}: event ${d.lastId} did not reach every connection of one client within 20 s: ${JSON.stringify(c.sse ? got.sse : got.ws)}`);
          ctx.log(ctx.notes[ctx.notes.length - 1]);
        }
        ok &&= got.reached;
        openNow += got.sse.open + got.ws.open;
      }
      await sleep(2000);
      return { ok, openNow };
    };
    // Warm-up: a tenth of the connections opened, fed an event and closed, so that the code they run is compiled
    // and the heap has grown to its working size before the first reading.
    const warm = await open(Math.max(100, n / 10));
    await event([warm]);
    await warm.stop();
    await sleep(1000);
    const readings = [{ connections: 0, ...(await ctx.memory(server, file)) }];
    // In STEPS steps, each measured after an event and a full GC: the slope of RSS over connections is checked
    // against the plain delta / connections (a one-off change of the process in between shows as a disagreement).
    const clients = [];
    const t0 = performance.now();
    let ok = true;
    let openNow = 0;
    for (let i = 0; i < STEPS; i++) {
      const cl = await open(n / STEPS);
      clients.push(cl);
      const e = await event(clients);
      ok &&= e.ok;
      openNow = e.openNow;
      readings.push({ connections: ((i + 1) * n) / STEPS, connectMs: cl.ready.connectMs, ...(await ctx.memory(server, file)) });
    }
    const connectS = (performance.now() - t0) / 1000;
    for (const cl of clients) await cl.stop();
    await driver.stop();
    await server.stop();
    const first = readings[0];
    const last = readings[readings.length - 1];
    const per = (k) => (last[k] - first[k]) / n;
    const r = {
      case: c.name,
      project: c.project,
      connections: n,
      openAtEnd: openNow,
      receivedEvents: ok,
      connectS,
      readings: readings.map((m) => ({ connections: m.connections, connectMs: m.connectMs ?? null, vmRss: m.vmRss, rssAnon: m.rssAnon, rssFile: m.rssFile, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external })),
      rssBefore: first.vmRss,
      rssAfter: last.vmRss,
      rssPerConn: per('vmRss'),
      rssSlopePerConn: slope(readings, 'vmRss'),
      rssAnonPerConn: per('rssAnon'),
      rssAnonSlopePerConn: slope(readings, 'rssAnon'),
      heapUsedPerConn: per('heapUsed'),
      heapTotalPerConn: per('heapTotal'),
      externalPerConn: per('external'),
    };
    results.push(r);
    const k = (x) => (x / 1024).toFixed(2);
    ctx.log(`memory ${c.name}: ${k(r.rssPerConn)} KiB RSS per connection (slope ${k(r.rssSlopePerConn)}; anonymous RSS ${k(r.rssAnonPerConn)}, slope ${k(r.rssAnonSlopePerConn)}; heap used ${k(r.heapUsedPerConn)}, heap total ${k(r.heapTotalPerConn)}), ${n} connections in ${connectS.toFixed(1)} s`);
    if (r.openAtEnd !== n || !r.receivedEvents) ctx.notes.push(`memory ${c.name}: ${r.openAtEnd} of ${n} connections open at the end, events received by all: ${r.receivedEvents}`);
  }
  const of = (name) => results.find((r) => r.case === name) ?? { rssPerConn: null };
  const goalBytes = 2048;
  return {
    results,
    summary: {
      connections: n,
      sse: { project: of('project SSE').rssPerConn, baseline: of('baseline SSE').rssPerConn },
      ws: { project: of('project WebSocket').rssPerConn, baseline: of('baseline WebSocket').rssPerConn },
      goal: { maxBytes: goalBytes, met: of('project SSE').rssPerConn <= goalBytes && of('project WebSocket').rssPerConn <= goalBytes },
    },
  };
}
