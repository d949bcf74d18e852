// (b) Event append rate into run streams with durability, vs raw pipelined ioredis XADD on the same machine.
//   baseline  driver --mode xadd on the server core: pipelines of 1,000 XADD (MAXLEN ~ 1000, the tail's entries)
//   remote    the production path: a worker-like sender (non-hosting actor system, load core) emits into --append-runs
//             runs, each a loop awaiting its previous emit; web.ts (server core) hosts the run partitions: turn ->
//             one Postgres transaction per batch of turns (runs rows + run_events, fsync on) -> tail append +
//             publish -> reply
//   local     the same through the hosting process's local fast path (driver --host-actors on the server core,
//             web.ts stopped first so that it owns every partition)
// An event counts once its emit is answered: committed to Postgres and appended to the Redis tail. The bench checks
// afterwards that run_events holds exactly the events it was told were appended.
import postgres from 'postgres';
import { cpuWindow, median } from '../../lib/harness.mjs';

export async function append(ctx, { project, stopProject }) {
  const { opt, seed, services } = ctx;
  const c = opt.appendRuns;
  const remoteRuns = seed.runIds.slice(3, 3 + c);
  const localRuns = seed.runIds.slice(3 + c, 3 + 2 * c);
  const sql = postgres(services.databaseUrl, { max: 1, onnotice: () => {} });
  const count = async (runs) => Number((await sql`SELECT count(*)::int AS n FROM run_events WHERE run_id = ANY(${runs})`)[0].n);
  const cases = [];
  const measure = async (label, driver, cmd, runs, extra) => {
    await driver.request({ ...cmd, durationMs: opt.appendWarmup * 1000 }, 120_000);
    services.repin();
    await ctx.quiet(label);
    const before = runs ? await count(runs) : null;
    const m0 = extra.ownerServer ? await actorMetrics(extra.ownerServer.port) : null;
    const win = cpuWindow();
    const flood = () => driver.request({ ...cmd, durationMs: opt.appendDuration * 1000 }, 120_000);
    const r = extra.ownerServer ? await ctx.profiled(extra.ownerServer, label, flood, (x) => ({ count: x.events, name: 'event' })) : await flood();
    const cpu = win.end({ server: extra.serverPid ? [extra.serverPid] : [], driver: [driver.pid], services: services.servicePids });
    const stored = runs ? (await count(runs)) - before : null;
    const m1 = m0 ? await actorMetrics(extra.ownerServer.port) : null;
    // The owner's view (remote cases, from its /metrics): turns per commit and command arrival -> commit.
    const owner = m0 && m1 ? { turnsPerCommit: (m1.turns - m0.turns) / Math.max(1, m1.commits - m0.commits), meanTurnMs: ((m1.turnSecondsSum - m0.turnSecondsSum) / Math.max(1, m1.turnCount - m0.turnCount)) * 1000 } : null;
    const meta = { ...extra };
    delete meta.ownerServer;
    const row = {
      label,
      ...meta,
      batch: cmd.batch,
      concurrency: cmd.concurrency,
      eventsPerS: r.eventsPerS,
      events: r.events,
      appendsPerS: r.appends / r.elapsedS,
      appendMs: r.appendMs,
      storedInPostgres: stored,
      durableCheck: runs ? stored === r.events : null,
      owner,
      serverCpuPct: extra.serverPid ? (cpu.cpuS.server / cpu.elapsedS) * 100 : null,
      driverCpuPct: (cpu.cpuS.driver / cpu.elapsedS) * 100,
      servicesCpuPct: (cpu.cpuS.services / cpu.elapsedS) * 100,
      cores: cpu.cores,
      noisePct: cpu.foreignPct,
    };
    if (row.noisePct > opt.quietPct) ctx.notes.push(`${label}: other work took ${Math.round(row.noisePct)}% of a core during it; kept`);
    if (runs && !row.durableCheck) ctx.notes.push(`${label}: ${r.events} events acknowledged but ${stored} rows stored`);
    ctx.log(
      `${label}: ${Math.round(r.eventsPerS)} events/s (append p50/p99 ${r.appendMs.p50?.toFixed(1)}/${r.appendMs.p99?.toFixed(1)} ms` +
        `${owner ? `; owner: ${owner.turnsPerCommit.toFixed(1)} turns/commit, arrival -> commit ${owner.meanTurnMs.toFixed(1)} ms mean` : ''})`,
    );
    cases.push(row);
  };

  try {
    const xadd = await ctx.driver({ mode: 'xadd', runs: remoteRuns, cpu: opt.serverCpu });
    await measure('baseline: pipelined ioredis XADD, 1,000 per pipeline', xadd, { cmd: 'flood', batch: 1000, concurrency: 1 }, null, { target: 'baseline', where: 'driver on the server core' });
    await xadd.stop();

    const remote = await ctx.driver({ mode: 'actor', runs: remoteRuns });
    for (const batch of opt.appendBatches) {
      await measure(`remote (worker -> web.ts), ${batch} event(s) per emit`, remote, { cmd: 'flood', batch, concurrency: c }, remoteRuns, { target: 'remote', serverPid: project.pid, ownerServer: project });
    }
    await remote.stop();

    await stopProject();
    const local = await ctx.driver({ mode: 'actor', runs: localRuns, hostActors: true, cpu: opt.serverCpu });
    for (const batch of opt.appendBatches) {
      await measure(`local (hosting process sends), ${batch} event(s) per emit`, local, { cmd: 'flood', batch, concurrency: c }, localRuns, { target: 'local', serverPid: local.pid });
    }
    await local.stop();
  } finally {
    await sql.end();
  }

  const base = cases.find((x) => x.target === 'baseline').eventsPerS;
  const rows = cases.filter((x) => x.target !== 'baseline').map((x) => ({ label: x.label, target: x.target, batch: x.batch, eventsPerS: x.eventsPerS, ratio: x.eventsPerS / base }));
  const remoteOne = rows.find((x) => x.target === 'remote' && x.batch === 1);
  const best = median(rows.filter((x) => x.target === 'remote').map((x) => x.ratio));
  return {
    cases,
    summary: {
      baselineEventsPerS: base,
      rows,
      goal: { min: 0.3, metWorkerLike: remoteOne ? remoteOne.ratio >= 0.3 : null, metRemoteMedian: best >= 0.3 },
    },
  };
}

/** The run kind's actor counters from a web process's /metrics (Prometheus text). */
async function actorMetrics(port) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const sum = (re) => [...text.matchAll(re)].reduce((a, m) => a + Number(m[1]), 0);
  return {
    turns: sum(/^takos_actor_commit_turns_sum\{[^}]*kind="run"[^}]*\} (\S+)$/gm),
    commits: sum(/^takos_actor_commit_turns_count\{[^}]*kind="run"[^}]*\} (\S+)$/gm),
    turnSecondsSum: sum(/^takos_actor_turn_seconds_sum\{[^}]*kind="run"[^}]*\} (\S+)$/gm),
    turnCount: sum(/^takos_actor_turn_seconds_count\{[^}]*kind="run"[^}]*\} (\S+)$/gm),
  };
}
