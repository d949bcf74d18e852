/**
 * Where a warm session's create -> first screenshot goes, step by step (pool.create with its first navigation, then
 * the screenshot), next to the same steps on a bare page of an already running browser (no pool, no proxy): which
 * part is the pool's own overhead and which is Chromium's work.
 *   node --import tsx bench/browser/steps.ts [iterations]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
import { chromiumArgs, findChromium } from '../../workers/browser/chromium.ts';
import { BrowserPool } from '../../workers/browser/pool.ts';
import { servePage } from './common.ts';

const N = Number(process.argv[2] ?? 15);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(1);
const { url, server } = await servePage();
const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'takos-bench-steps-'));
const pool = new BrowserPool({ maxSessions: 4, allowLoopback: true, idleTimeoutMs: 0, dataRoot, loadProbe: () => ({ cpu: 0, memory: 0 }), queueTimeoutMs: 120_000 });
await pool.start();
await sleep(1_000);
const b = await puppeteer.launch({ executablePath: findChromium(), headless: true, pipe: true, args: chromiumArgs({ userDataDir: path.join(dataRoot, 'bare') }), defaultViewport: { width: 1280, height: 720 } });
const t = { create: [] as number[], shot: [] as number[], bareNew: [] as number[], bareGoto: [] as number[], bareShot: [] as number[] };
for (let i = 0; i < N; i++) {
  let t0 = performance.now();
  const s = await pool.create({ url });
  t.create.push(performance.now() - t0);
  t0 = performance.now();
  await s.screenshot();
  t.shot.push(performance.now() - t0);
  await s.close();
  await sleep(1_500);
  t0 = performance.now();
  const p = await b.newPage();
  t.bareNew.push(performance.now() - t0);
  t0 = performance.now();
  await p.goto(url);
  t.bareGoto.push(performance.now() - t0);
  t0 = performance.now();
  await p.screenshot({ type: 'png', optimizeForSpeed: true });
  t.bareShot.push(performance.now() - t0);
  await p.close();
}
process.stdout.write(`medians over ${N}: pool create+navigate ${med(t.create)} ms, pool screenshot ${med(t.shot)} ms | bare newPage ${med(t.bareNew)} ms, goto ${med(t.bareGoto)} ms, screenshot ${med(t.bareShot)} ms\n`);
await b.close();
await pool.close();
server.close();
rmSync(dataRoot, { recursive: true, force: true });
