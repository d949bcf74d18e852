// What every part of bench/streams shares: the servers under test (started pinned to the server core), the C client
// and the driver (pinned to the load core), the shared-machine guard, and the phase procedure that measures server
// CPU per delivery with both sides fed the same events.
import { readFileSync, existsSync, renameSync } from 'node:fs';
import path from 'node:path';
import { startNode, stopNode, waitHttp } from '../../foundation/lib/servers.mjs';
import { freePort } from '../../../scripts/lib/services.mjs';
import { cpuWindow, lineChild, log, root, waitQuiet } from '../../lib/harness.mjs';
import { profileMarkdown, summarizeProfile } from '../../foundation/lib/cpuprofile.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function createContext({ opt, dataDir, notes, services, seed, subsBin, secret }) {
  const cleanups = [];
  const baseEnv = { ...process.env, DATABASE_URL: services.databaseUrl, REDIS_URL: services.redisUrl, LOG_LEVEL: 'warn' };
  const projectEnv = (port) => ({
    ...baseEnv,
    ENVIRONMENT: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    TAKOS_DATA_DIR: path.join(dataDir, 'project'),
    REDIS_PREFIX: 'takos-bench-streams:',
    SERVICE_TOKEN_SECRET: secret,
  });
  const channel = 'bench-streams:baseline';
  let seq = 0;
  const shared = {};

  const ctx = {
    opt,
    notes,
    services,
    seed,
    channel,
    cleanups,
    log,
    header: `Authorization: Bearer ${seed.token}`,

    /** Starts a server pinned to the server core; resolves once it answers /health. */
    async server(name, { project, nodeFlags = [], env = {} }) {
      const port = await freePort();
      const e = project ? { ...projectEnv(port), ...env } : { ...baseEnv, PORT: String(port), BENCH_CHANNEL: channel, ...env };
      const s = startNode({
        name,
        entry: project ? 'web.ts' : 'bench/streams/baseline.ts',
        env: e,
        cpu: opt.serverCpu,
        cwd: root,
        logFile: path.join(dataDir, `${name}.log`),
        nodeFlags,
      });
      cleanups.unshift(() => stopNode(s));
      await waitHttp(s, `http://127.0.0.1:${port}/health`);
      return { ...s, port, stop: () => stopNode(s) };
    },

    /** The appender (driver.ts) pinned to `cpu` (default: the load core); resolves with its ready line. */
    async driver({ mode, runs, channel: ch = '', startId = 0, hostActors = false, cpu = opt.loadCpu, port = null }) {
      const name = `driver-${mode}-${++seq}`;
      const args = ['--import', 'tsx', 'bench/streams/driver.ts', '--mode', mode, '--runs', runs.join(','), '--start-id', String(startId)];
      if (ch) args.push('--channel', ch);
      if (hostActors) args.push('--host-actors');
      const env = { ...projectEnv(port ?? 0) };
      const d = lineChild({ name, cmd: process.execPath, args, cpu, env, logFile: path.join(dataDir, `${name}.log`) });
      cleanups.unshift(() => d.stop());
      const ready = await d.next(120_000);
      if (!ready.ready) throw new Error(`${name}: ${JSON.stringify(ready)}`);
      d.lastId = ready.lastId ?? 0;
      return d;
    },

    /** One driver per key for the whole bench: the actor driver holds the run's lease (a second one could not claim it). */
    sharedDriver(key, spec) {
      shared[key] ??= ctx.driver(spec);
      return shared[key];
    },
    sharedDrivers: () => shared,

    /** The C/epoll subscriber client on the load core; resolves with its ready line once every connection is open. */
    async client({ port, sse = 0, ws = 0, ssePath = '/sse', wsPath = '/ws', header = null, after = 0 }) {
      const name = `subs-${++seq}`;
      const args = ['--port', String(port), '--sse', String(sse), '--ws', String(ws), '--sse-path', ssePath, '--ws-path', wsPath, '--after', String(after)];
      if (header) args.push('--header', header);
      const c = lineChild({ name, cmd: subsBin, args, cpu: opt.loadCpu, env: process.env, logFile: path.join(dataDir, `${name}.log`) });
      cleanups.unshift(() => c.stop());
      c.ready = await c.next(180_000);
      if (c.ready.retried > 0) notes.push(`${name}: ${c.ready.retried} of ${sse + ws} connection handshakes failed and were retried (see ${name}.log in a --keep-data run)`);
      if (c.ready.open !== sse + ws) throw new Error(`${name}: only ${c.ready.open} of ${sse + ws} connections opened (${c.ready.failed} failed); see ${name}.log and the server log`);
      return c;
    },

    /** With --profile: the project server is started with the foundation's profiler hook; see profiled(). */
    profiles: [],
    profilerFlags: () => ['--enable-source-maps', '--import', path.join(root, 'bench/foundation/lib/profiler-hook.mjs')],
    profileOut: path.join(dataDir, 'project.cpuprofile'),

    /**
     * Runs `fn` with the V8 CPU profiler of `server` on (SIGUSR2 toggles it; --profile only), then keeps a summary
     * of where the server's CPU went: self time by package and function, per `units` (deliveries, events).
     */
    async profiled(server, label, fn, units) {
      if (!opt.profile || !server.profiled) return fn();
      const out = ctx.profileOut;
      server.child.kill('SIGUSR2');
      const r = await fn();
      server.child.kill('SIGUSR2');
      for (let i = 0; i < 200 && !existsSync(out); i++) await sleep(100);
      if (!existsSync(out)) throw new Error(`no CPU profile from ${server.name}`);
      const file = path.join(dataDir, `${label.replace(/[^a-z0-9]+/gi, '-')}.cpuprofile`);
      renameSync(out, file);
      renameSync(`${out}.maps.json`, `${file}.maps.json`);
      const summary = summarizeProfile(file, { root, sourceMaps: `${file}.maps.json`, top: 30 });
      const n = units(r);
      ctx.profiles.push({ label, units: n, summary, markdown: profileMarkdown(summary, n.count).replace(/per request over (\d+) requests/, `per ${n.name} over $1 ${n.name}s`) });
      return r;
    },

    quiet: (label) => waitQuiet({ quietPct: opt.quietPct, maxWaitS: opt.maxWait, notes, label }),

    /**
     * One measured phase: `target` = {name, server, driver, port, ssePath(k), wsPath(k), header}, fed `appends`
     * appends of `batch` events every `intervalMs` to `sse` + `ws` subscribers. A warm-up of 10 appends comes first
     * (WebSocket sockets join the uWS topic after their first live batch). Re-run when other work took more than
     * --quiet-pct of a core during it.
     */
    async phase({ label, target, sse, ws, batch, intervalMs, appends, profile = false }) {
      for (let attempt = 1; ; attempt++) {
        const k = target.driver.lastId;
        const client = await ctx.client({ port: target.port, sse, ws, ssePath: target.ssePath(k), wsPath: target.wsPath(k), header: target.header, after: k });
        await sleep(300);
        const warm = await target.driver.request({ cmd: 'paced', appends: 10, batch, intervalMs });
        target.driver.lastId = warm.lastId;
        const w = await client.request(`wait ${warm.lastId} 20000`, 30_000);
        if (!w.reached) throw new Error(`${label}: the warm-up events did not reach every subscriber: ${JSON.stringify(w)}`);
        services.repin();
        await ctx.quiet(label);
        await client.request('mark');
        const win = cpuWindow(target.server.pid);
        const run = () => target.driver.request({ cmd: 'paced', appends, batch, intervalMs }, 120_000 + appends * intervalMs);
        const d = profile && attempt === 1 ? await ctx.profiled(target.server, label, run, (x) => ({ count: x.events * (sse + ws), name: 'delivery' })) : await run();
        target.driver.lastId = d.lastId;
        const st = await client.request(`wait ${d.lastId} 30000`, 60_000);
        const cpu = win.end({ server: [target.server.pid], client: [client.pid], driver: [target.driver.pid], services: services.servicePids });
        await client.stop();
        const r = summarizePhase({ label, target: target.name, sse, ws, batch, intervalMs, d, st, cpu });
        if (r.noisePct <= opt.quietPct || attempt >= opt.attempts) {
          if (r.noisePct > opt.quietPct) notes.push(`${label}: other work took ${Math.round(r.noisePct)}% of a core during it (after ${attempt} attempts); kept`);
          return r;
        }
        log(`${label}: other work took ${Math.round(r.noisePct)}% of a core; running it again`);
      }
    },

    /**
     * Memory of a server started with gc-hook.mjs after full GCs: process.memoryUsage() and VmRSS, measured until two
     * readings in a row agree within 256 KiB (V8 gives freed heap pages back over a few collections; a single reading
     * right after a burst of connections is high by megabytes), at most 8 readings.
     */
    async memory(server, file) {
      let last = await ctx.memoryOnce(server, file);
      for (let i = 0; i < 7; i++) {
        const m = await ctx.memoryOnce(server, file);
        const settled = Math.abs(m.vmRss - last.vmRss) < 256 * 1024;
        last = m;
        if (settled) break;
      }
      return last;
    },

    async memoryOnce(server, file) {
      const before = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;
      server.child.kill('SIGUSR2');
      for (let i = 0; i < 1200; i++) {
        await sleep(50);
        const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
        if (lines.length > before) {
          const m = JSON.parse(lines[lines.length - 1]);
          const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
          const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)[1]) * 1024;
          m.vmRss = kb('VmRSS');
          // RSS = anonymous + file-backed + shared pages. File-backed pages (the node binary, addons) come and go
          // with the page cache on a busy machine; RssAnon is the process's own memory.
          m.rssAnon = kb('RssAnon');
          m.rssFile = kb('RssFile');
          return m;
        }
      }
      throw new Error(`${server.name} did not report its memory (is gc-hook.mjs preloaded with --expose-gc?)`);
    },
  };
  return ctx;
}

function summarizePhase({ label, target, sse, ws, batch, intervalMs, d, st, cpu }) {
  const threads = cpu.threadsS ?? {};
  const mainS = threads.main ?? null;
  const deliveries = st.sse.events + st.ws.events;
  const expected = d.events * (sse + ws);
  const perDelivery = (s) => (deliveries > 0 ? (s * 1e6) / deliveries : null);
  const pct = (s) => (s / cpu.elapsedS) * 100;
  return {
    label,
    target,
    sse,
    ws,
    batch,
    intervalMs,
    events: d.events,
    appendsLate: d.lateAppends,
    appendMs: d.appendMs,
    deliveries,
    expected,
    complete: st.reached && deliveries === expected && st.sse.gaps + st.ws.gaps + st.sse.dups + st.ws.dups === 0,
    gaps: st.sse.gaps + st.ws.gaps,
    dups: st.sse.dups + st.ws.dups,
    closed: st.sse.closed + st.ws.closed + st.sse.errors + st.ws.errors,
    elapsedS: cpu.elapsedS,
    deliveriesPerS: deliveries / cpu.elapsedS,
    serverUsPerDelivery: perDelivery(cpu.cpuS.server),
    // The event-loop thread alone, and the rest of the process by thread name (V8's GC and compiler helpers).
    serverMainUsPerDelivery: mainS === null ? null : perDelivery(mainS),
    serverThreadsS: threads,
    serverCpuPct: pct(cpu.cpuS.server),
    clientCpuPct: pct(cpu.cpuS.client),
    clientUsPerDelivery: perDelivery(cpu.cpuS.client),
    driverCpuPct: pct(cpu.cpuS.driver),
    servicesCpuPct: pct(cpu.cpuS.services),
    cores: cpu.cores,
    noisePct: cpu.foreignPct,
    sseLatency: st.sse.lat,
    wsLatency: st.ws.lat,
  };
}
