/** What the browser benches share: the page under test, the bare-launch baseline, percentiles, process counts. */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import puppeteer from 'puppeteer-core';
import { chromiumArgs } from '../../workers/browser/chromium.ts';

/** Some layout, text and an image-free gradient: enough for a screenshot to cost something. */
const PAGE = `<!doctype html><html><head><title>Bench</title><style>body{font:16px sans-serif} div{height:1500px;background:linear-gradient(#fff,#9cf)}</style></head><body><h1>Bench</h1>${'<p>lorem ipsum dolor sit amet</p>'.repeat(50)}<div></div></body></html>`;

/** Serves the page on 127.0.0.1 (the pools under test run with the loopback switch on). */
export async function servePage(): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer((_q, r) => r.writeHead(200, { 'content-type': 'text/html' }).end(PAGE));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

/**
 * The baseline: what a server without a pool does per session. puppeteer.launch (same Chromium, same flags, a fresh
 * user-data-dir) + newPage + goto + screenshot, then close. Returns the milliseconds up to the screenshot.
 */
export async function bareLaunchShot(executablePath: string, userDataDir: string, url: string): Promise<number> {
  const t = performance.now();
  const b = await puppeteer.launch({ executablePath, headless: true, pipe: true, args: chromiumArgs({ userDataDir }), defaultViewport: { width: 1280, height: 720 } });
  const p = await b.newPage();
  await p.goto(url);
  // The product's capture options (workers/browser/capture.ts), so that both sides encode alike.
  await p.screenshot({ type: 'png', optimizeForSpeed: true });
  const ms = performance.now() - t;
  await b.close();
  rmSync(userDataDir, { recursive: true, force: true });
  return ms;
}

export function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

/** Live Chromium processes whose command line carries the pool's marker (its data root). */
export const liveChromium = (marker: string) => spawnSync('pgrep', ['-f', '--', marker], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).length;

/**
 * The count once it holds still: the same reading for a whole second (at most `maxMs`). Right after a destroy the pool
 * refills its spare page and Chromium retires the closed page's renderer, so a single reading can land mid-change.
 */
export async function settledChromium(marker: string, maxMs = 10_000): Promise<number> {
  const deadline = Date.now() + maxMs;
  let last = liveChromium(marker);
  let since = Date.now();
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    const n = liveChromium(marker);
    if (n !== last) {
      last = n;
      since = Date.now();
    } else if (Date.now() - since >= 1_000) break;
  }
  return last;
}
