/**
 * Browser pool benchmark (issue 6, item 5), at the library level (no HTTP; part 2 adds the route-level numbers).
 * See bench/browser/README.md for what each part measures and the goals.
 *
 *   node --import tsx bench/browser/run.ts [--iterations 20] [--sessions 30] [--loop 200] [--gap 1500] [--no-write]
 * `--gap` (ms) separates measurements so that the pool's spare-page refill (1 s after a create) never overlaps a
 * measured baseline launch.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { findChromium } from '../../workers/browser/chromium.ts';
import { bareLaunchShot, liveChromium, pct, servePage, settledChromium } from './common.ts';
import { BrowserPool } from '../../workers/browser/pool.ts';

const { values: args } = parseArgs({
  options: {
    iterations: { type: 'string', default: '20' },
    sessions: { type: 'string', default: '30' },
    loop: { type: 'string', default: '200' },
    gap: { type: 'string', default: '1500' },
    'no-write': { type: 'boolean', default: false },
  },
});
const ITER = Number(args.iterations);
const HELD = Number(args.sessions);
const LOOP = Number(args.loop);
const GAP = Number(args.gap);
const out = (s: string) => process.stdout.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MB = 1024 * 1024;


async function main() {
  const { url, server } = await servePage();
  const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'takos-bench-browser-'));
  const exe = findChromium();

  // Loopback is allowed explicitly: the bench page is served on 127.0.0.1. Fixed load reading: the machine is shared,
  // and this bench measures latency and memory, not load shedding.
  const pool = new BrowserPool({ maxSessions: Math.max(HELD, 4), allowLoopback: true, idleTimeoutMs: 0, dataRoot, loadProbe: () => ({ cpu: 0, memory: 0 }), queueTimeoutMs: 120_000 });
  await pool.start();
  await sleep(1_000); // spares ready: a warm pool

  // 1. create -> first screenshot, warm pool vs bare launch, alternating so machine noise hits both.
  const warm: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < ITER; i++) {
    const t = performance.now();
    const s = await pool.create({ url });
    await s.screenshot();
    warm.push(performance.now() - t);
    await s.close();
    await sleep(GAP);

    bare.push(await bareLaunchShot(exe, path.join(dataRoot, `bare-${i}`), url));
    await sleep(GAP);
  }
  const latency = {
    warm: { p50: pct(warm, 50), p99: pct(warm, 99) },
    bare: { p50: pct(bare, 50), p99: pct(bare, 99) },
    ratioP50: pct(warm, 50) / pct(bare, 50),
  };

  // 2. sessions per GB: PSS of the browser tree with HELD sessions on the page, minus the idle pool.
  const treePss = () => pool.capacity().browsers.reduce((a, b) => a + b.memoryBytes, 0);
  await sleep(1_000);
  const idle = treePss();
  const held = [];
  for (let i = 0; i < HELD; i++) held.push(await pool.create({ url }));
  await sleep(1_000);
  const full = treePss();
  const processesHeld = liveChromium(pool.markerRoot);
  for (const s of held) await s.close();
  const perSession = (full - idle) / HELD;
  const memory = { processesHeld, idleMB: idle / MB, withSessionsMB: full / MB, perSessionMB: perSession / MB, sessionsPerGB: (1024 * MB) / perSession, sessionsPerGBInclBrowser: (HELD * 1024 * MB) / full };

  // 3. LOOP sessions created and destroyed: RSS of the worker + PSS of Chromium before (after a warm-up) and after.
  // With --expose-gc the worker's heap is collected before each reading, so the numbers compare live memory.
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  for (let i = 0; i < 20; i++) await (await pool.create({ url })).close();
  await sleep(1_000);
  gc();
  const before = { worker: process.memoryUsage().rss, chromium: treePss(), processes: await settledChromium(pool.markerRoot) };
  for (let i = 0; i < LOOP; i++) await (await pool.create({ url })).close();
  await sleep(2_000);
  gc();
  const after = { worker: process.memoryUsage().rss, chromium: treePss(), processes: await settledChromium(pool.markerRoot) };
  await pool.close();
  const leftAfterClose = liveChromium(pool.markerRoot);
  const loop = {
    iterations: LOOP,
    workerRssGrowthPct: ((after.worker - before.worker) / before.worker) * 100,
    chromiumPssGrowthPct: ((after.chromium - before.chromium) / before.chromium) * 100,
    processesBefore: before.processes,
    processesAfter: after.processes,
    chromiumProcessesAfterClose: leftAfterClose,
  };
  server.close();
  rmSync(dataRoot, { recursive: true, force: true });

  const verdict = {
    latency: latency.ratioP50 <= 0.2,
    density: memory.sessionsPerGB >= 10,
    loop: loop.workerRssGrowthPct <= 5 && loop.chromiumPssGrowthPct <= 5 && leftAfterClose === 0 && after.processes <= before.processes,
  };
  const f = (n: number) => n.toFixed(1);
  const md = [
    `# Browser pool benchmark (${new Date().toISOString()})`,
    '',
    `Machine: ${os.cpus().length} cores, ${f(os.totalmem() / 1024 ** 3)} GiB; Chromium ${exe}; iterations ${ITER}, held sessions ${HELD}, loop ${LOOP}.`,
    '',
    '| measure | project | baseline | ratio / value | goal | ok |',
    '| --- | ---: | ---: | ---: | --- | --- |',
    `| create -> first screenshot p50 (ms) | ${f(latency.warm.p50)} | ${f(latency.bare.p50)} | ${latency.ratioP50.toFixed(3)}x | <= 0.2x | ${verdict.latency ? 'yes' : 'NO'} |`,
    `| create -> first screenshot p99 (ms) | ${f(latency.warm.p99)} | ${f(latency.bare.p99)} | ${(latency.warm.p99 / latency.bare.p99).toFixed(3)}x | | |`,
    `| PSS per session (MB), ${HELD} held, ${processesHeld} processes | ${f(memory.perSessionMB)} | | ${f(memory.sessionsPerGB)} sessions/GB (${f(memory.sessionsPerGBInclBrowser)} incl. browser) | >= 10/GB | ${verdict.density ? 'yes' : 'NO'} |`,
    `| ${LOOP}-session loop: worker RSS / Chromium PSS growth | ${f(loop.workerRssGrowthPct)}% / ${f(loop.chromiumPssGrowthPct)}% | | processes ${loop.processesBefore} -> ${loop.processesAfter}, ${leftAfterClose} after close | <= 5%, none left | ${verdict.loop ? 'yes' : 'NO'} |`,
  ].join('\n');
  out(md);
  if (!args['no-write']) {
    const dir = path.join(import.meta.dirname, '..', 'results');
    mkdirSync(dir, { recursive: true });
    const stamp = new Date().toISOString().slice(0, 10);
    writeFileSync(path.join(dir, `browser-${stamp}.md`), md + '\n');
    writeFileSync(path.join(dir, `browser-${stamp}.json`), JSON.stringify({ args: { ITER, HELD, LOOP, GAP }, latency, warm, bare, memory, loop, verdict }, null, 2) + '\n');
  }
}

await main();
