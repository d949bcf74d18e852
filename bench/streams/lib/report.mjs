// bench/results/streams-<date>.{md,json}: every phase with its numbers, the ratios, the goals and whether they are met.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fmt, mdTable } from '../../lib/harness.mjs';

const { n0, n1, n2, n3 } = fmt;
const kib = (b) => (b === null || b === undefined ? '-' : (b / 1024).toFixed(2));
const yes = (b) => (b ? 'met' : 'NOT MET');

export function streamsMarkdown(r) {
  const out = [`# Event-stream benchmarks, ${r.date}`, ''];
  out.push('Issue 4, item 6 (a)-(d): the real server (`web.ts`, real run routes, PAT auth) against bare uWebSockets.js baselines measured in the same run, loaded by a C/epoll client.', '');
  const goals = [];
  const p = r.parts;
  if (p.fanout) for (const s of p.fanout.summary.filter((x) => x.goal)) goals.push([`(a) fan-out, ${s.shape}: server CPU per delivery, actor path / baseline`, `${n2(s.ratioActor)}x (transport only: ${n2(s.ratioTail)}x)`, '<= 2x', yes(s.goal.met)]);
  if (p.append) {
    const s = p.append.summary;
    for (const row of s.rows) goals.push([`(b) appends, ${row.label}`, `${n2(row.ratio)}x (${n0(row.eventsPerS)} vs ${n0(s.baselineEventsPerS)} events/s)`, '>= 0.3x', yes(row.ratio >= 0.3)]);
  }
  if (p.latency) {
    const s = p.latency.summary;
    goals.push(['(c) append -> SSE p99, transport (tail.append)', `${n2(s.tail.p99)} ms (baseline ${n2(s.baseline.p99)} ms)`, '<= 5 ms', yes(s.tail.p99 <= 5)]);
    goals.push(['(c) append -> SSE p99, durable (run actor emit)', `${n2(s.actor.p99)} ms`, '<= 5 ms', yes(s.actor.p99 <= 5)]);
  }
  if (p.memory) {
    const s = p.memory.summary;
    goals.push([`(d) idle SSE connection (RSS, ${n0(s.connections)} connections)`, `${kib(s.sse.project)} KiB (baseline ${kib(s.sse.baseline)} KiB)`, '<= 2 KiB', yes(s.sse.project <= 2048)]);
    goals.push([`(d) idle WebSocket connection (RSS, ${n0(s.connections)} connections)`, `${kib(s.ws.project)} KiB (baseline ${kib(s.ws.baseline)} KiB)`, '<= 2 KiB', yes(s.ws.project <= 2048)]);
  }
  out.push(mdTable(['goal', 'measured', 'target', 'verdict'], goals, ['---', '---', '---', '---']), '');

  if (p.fanout) {
    out.push('## (a) Fan-out: server CPU per delivery', '');
    out.push(
      `One run, ${r.config.subscribers.split(' (fan-out)')[0]}. Deliveries = events x subscribers, each checked by the client (contiguous ids per connection). ` +
        'Server CPU = utime + stime of the server process from /proc over the window (first append to last delivery). ' +
        '"actor": events emitted through the run actor by a worker-like sender (turn, Postgres commit, tail append, publish, then fan-out); ' +
        '"tail": `kernel.streams.tail.append` straight into Redis (the transport alone); "baseline": bare uWS fed by PUBLISH.',
      '',
    );
    const main = p.fanout.summary.filter((x) => x.goal);
    out.push(
      mdTable(
        ['shape', 'events/s', 'baseline us/delivery', 'actor us/delivery', 'tail us/delivery', 'actor / baseline', 'tail / baseline', 'server CPU b / a / t', 'client CPU b / a / t'],
        main.map((s) => [
          `${s.shape} (${s.batch} event(s) per append every ${s.intervalMs} ms)`,
          n0((s.batch * 1000) / s.intervalMs),
          n3(s.baseline.usPerDelivery),
          n3(s.actor.usPerDelivery),
          n3(s.tail.usPerDelivery),
          `**${n2(s.ratioActor)}x**`,
          `${n2(s.ratioTail)}x`,
          `${n0(s.baseline.serverCpuPct)}% / ${n0(s.actor.serverCpuPct)}% / ${n0(s.tail.serverCpuPct)}%`,
          `${n0(s.baseline.clientCpuPct)}% / ${n0(s.actor.clientCpuPct)}% / ${n0(s.tail.clientCpuPct)}%`,
        ]),
      ),
      '',
    );
    const pa = p.fanout.summary.find((x) => !x.goal);
    if (pa) {
      out.push(
        `Server CPU per append with one SSE and one WebSocket subscriber (${n0(1000 / pa.intervalMs)} appends/s, one event each): baseline ${n0(pa.baseline.usPerAppend)} us, ` +
          `tail ${n0(pa.tail.usPerAppend)} us, actor ${n0(pa.actor.usPerAppend)} us (the actor path: command read from the partition stream, turn, ` +
          'transaction, tail append, reply; each step an I/O wake-up of an otherwise idle core).',
        '',
      );
    }
    out.push(phaseTable(p.fanout.phases, true), '');
  }
  if (p.append) {
    const s = p.append.summary;
    out.push('## (b) Durable appends per second', '');
    out.push(
      'An event counts when its `emit` is answered: committed to Postgres (fsync on) and on the Redis tail. After each case the bench counts the rows in `run_events` ' +
        '("stored") and compares them with the events acknowledged.',
      '',
    );
    out.push(
      mdTable(
        ['case', 'events/s', 'ratio to XADD', 'emits/s', 'emit p50 / p99 ms', 'stored = acked', 'owner CPU', 'driver CPU', 'PG+Redis CPU', 'other work'],
        p.append.cases.map((c) => [
          c.label,
          n0(c.eventsPerS),
          c.target === 'baseline' ? '1.00x' : `**${n2(c.eventsPerS / s.baselineEventsPerS)}x**`,
          n0(c.appendsPerS),
          `${n2(c.appendMs.p50)} / ${n2(c.appendMs.p99)}`,
          c.durableCheck === null ? '-' : c.durableCheck ? `yes (${n0(c.storedInPostgres)})` : `NO (${n0(c.storedInPostgres)})`,
          c.serverCpuPct === null ? '-' : `${n0(c.serverCpuPct)}%`,
          `${n0(c.driverCpuPct)}%`,
          `${n0(c.servicesCpuPct)}%`,
          `${n0(c.noisePct)}%`,
        ]),
      ),
      '',
    );
  }
  if (p.latency) {
    const s = p.latency.summary;
    out.push('## (c) Unloaded append -> SSE latency', '');
    out.push(
      `${n0(s.subscribers)} SSE subscribers, one event every ${s.intervalMs} ms (${n0(s.appends)} events), latency of every delivery: the client's CLOCK_MONOTONIC at receipt ` +
        "minus the driver's just before it issued the append (both read the same clock). Includes the client reading its 1,000 sockets one after another.",
      '',
    );
    out.push(
      mdTable(
        ['target', 'samples', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms'],
        [
          ['baseline: PUBLISH -> bare uWS SSE', s.baseline],
          ['tail: tail.append -> web.ts -> SSE', s.tail],
          ['actor: emit -> commit -> tail -> web.ts -> SSE', s.actor],
        ].map(([n, l]) => [n, n0(l.n), n2(l.p50), n2(l.p90), n2(l.p99), n2(l.p999), n2(l.max)]),
      ),
      '',
    );
    out.push(phaseTable(p.latency.phases, false), '');
  }
  if (p.memory) {
    out.push('## (d) Idle memory per connection', '');
    out.push(
      'Fresh server per case, preloaded with `bench/streams/lib/gc-hook.mjs` (`--expose-gc`): 100 connections opened and closed, full GC, VmRSS; then the idle connections, one event ' +
        'delivered to all of them, 2 s idle, full GC, VmRSS. Per connection = delta / connections.',
      '',
    );
    out.push(
      mdTable(
        ['case', 'connections', 'connect time s', 'RSS before MiB', 'RSS after MiB', 'RSS per connection KiB', 'JS heap per connection KiB', 'external per connection KiB'],
        p.memory.results.map((m) => [m.case, n0(m.connections), n1(m.connectS), n1(m.rssBefore / 2 ** 20), n1(m.rssAfter / 2 ** 20), `**${kib(m.rssPerConn)}**`, kib(m.heapUsedPerConn), kib(m.externalPerConn)]),
      ),
      '',
    );
  }
  if (r.profiles?.length) {
    out.push('## CPU profiles of the project server', '');
    out.push('Taken with `--profile` (the profiler costs CPU itself: the numbers of a profiled run are not the recorded ones). V8 sampling profiler over the phase only; self time; `.ts` frames mapped through tsx source maps.', '');
    for (const p of r.profiles) out.push(`### ${p.label}`, '', p.markdown, '');
  }
    out.push('## How it was run', '', '```sh', r.command, '```', '', `Total time: ${n0(r.totalSeconds)} s (${Object.entries(r.parts).map(([k, x]) => `${k} ${n0(x.seconds)} s`).join(', ')}).`, '');
  out.push(mdTable(['config', 'value'], Object.entries(r.config), ['---', '---']), '');
  out.push(mdTable(['machine', 'value'], Object.entries(r.machine), ['---', '---']), '');
  if (r.notes.length) out.push('## Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  return out.join('\n');
}

function phaseTable(phases, both) {
  const head = ['phase', 'events', 'deliveries (expected)', 'complete', 'server us/delivery', 'event-loop thread us/delivery', 'server CPU', 'client CPU', 'driver CPU', 'PG+Redis CPU', 'CPU0 / CPU1 busy', 'other work'];
  if (!both) head.push('SSE p50 / p99 ms');
  return mdTable(
    head,
    phases.map((x) => {
      const row = [
        x.label,
        n0(x.events),
        `${n0(x.deliveries)} (${n0(x.expected)})`,
        x.complete ? 'yes' : 'NO',
        n3(x.serverUsPerDelivery),
        n3(x.serverMainUsPerDelivery),
        `${n0(x.serverCpuPct)}%`,
        `${n0(x.clientCpuPct)}%`,
        `${n0(x.driverCpuPct)}%`,
        `${n0(x.servicesCpuPct)}%`,
        `${n0(x.cores.cpu0)}% / ${n0(x.cores.cpu1)}%`,
        `${n0(x.noisePct)}%`,
      ];
      if (!both) row.push(`${n2(x.sseLatency.p50)} / ${n2(x.sseLatency.p99)}`);
      return row;
    }),
  );
}

export function writeStreamsReport(benchDir, result) {
  const dir = path.join(benchDir, 'results');
  mkdirSync(dir, { recursive: true });
  // A profiled run is kept apart: the profiler's own cost makes its numbers unfit to stand as the recorded ones.
  const base = path.join(dir, `streams${result.profiles?.length ? '-profile' : ''}-${result.date}`);
  writeFileSync(`${base}.json`, JSON.stringify(result, null, 2) + '\n');
  writeFileSync(`${base}.md`, streamsMarkdown(result));
  return { json: `${base}.json`, md: `${base}.md` };
}
