import { spawnSync } from 'node:child_process';

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
