import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'puppeteer-core';
import { launchChromium, removeUserDataDir, userDataDirFor, MARKER_DIR } from './chromium.ts';
import { killBrowserTree } from './reaper.ts';

/**
 * The worker's Chromium processes. Each slot: down -> starting -> up -> (crash) down -> starting -> ...
 * When a browser disconnects without being asked to (crash, kill -9, OOM killer), `onDown` is told first (the pool
 * fails the sessions that were on it, with the exit reason), then whatever is left of its process tree is killed,
 * its user-data-dir removed, and a fresh browser is launched after a back-off (0.5 s doubling to 30 s, reset after a
 * browser has stayed up for a minute), so a Chromium that crashes at start cannot spin the CPU.
 */

export interface FleetBrowser {
  no: number;
  state: 'down' | 'starting' | 'up';
  browser: Browser | null;
  pid: number;
  userDataDir: string;
  upSince: number;
  failures: number;
  /** Sessions currently on this browser (maintained by the pool). */
  sessions: number;
}

export interface FleetOptions {
  count: number;
  executablePath: string;
  /** Parent of the marker folder that holds every user-data-dir. */
  dataRoot: string;
  extraArgs?: string[];
  onUp: (b: FleetBrowser) => void;
  onDown: (b: FleetBrowser, reason: string) => void;
  log: (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
}

export class Fleet {
  readonly browsers: FleetBrowser[];
  private closing = false;
  private proxyUrl: string | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly o: FleetOptions) {
    this.browsers = Array.from({ length: o.count }, (_, no) => ({ no, state: 'down', browser: null, pid: 0, userDataDir: '', upSince: 0, failures: 0, sessions: 0 }));
  }

  get markerRoot(): string {
    return path.join(this.o.dataRoot, MARKER_DIR);
  }

  /** `proxyUrl`: the proxy every browser is started with (known only once it listens): the browser's own traffic. */
  async start(proxyUrl?: string): Promise<void> {
    this.proxyUrl = proxyUrl;
    // One after another: two Chromium starts at once on a 2-core machine take longer than two in a row.
    for (const b of this.browsers) await this.launch(b);
    if (!this.browsers.some((b) => b.state === 'up')) throw new Error('no Chromium browser could be started');
  }

  /** The up browser with the fewest sessions, or null when none is up. */
  pick(): FleetBrowser | null {
    let best: FleetBrowser | null = null;
    for (const b of this.browsers) if (b.state === 'up' && (!best || b.sessions < best.sessions)) best = b;
    return best;
  }

  anyUp(): boolean {
    return this.browsers.some((b) => b.state === 'up');
  }

  private async launch(b: FleetBrowser): Promise<void> {
    if (this.closing) return;
    b.state = 'starting';
    b.userDataDir = userDataDirFor(this.o.dataRoot, b.no);
    try {
      const l = await launchChromium({
        executablePath: this.o.executablePath,
        userDataDir: b.userDataDir,
        ...(this.proxyUrl ? { proxyUrl: this.proxyUrl } : {}),
        ...(this.o.extraArgs ? { extraArgs: this.o.extraArgs } : {}),
      });
      if (this.closing) {
        await killBrowserTree(l.pid, l.userDataDir, this.markerRoot);
        removeUserDataDir(l.userDataDir);
        return;
      }
      b.browser = l.browser;
      b.pid = l.pid;
      b.upSince = Date.now();
      b.state = 'up';
      const proc = l.browser.process();
      let exit = 'disconnected';
      proc?.once('exit', (code, signal) => (exit = signal ? `killed by ${signal}` : `exited with code ${code}`));
      l.browser.once('disconnected', () => void this.down(b, l.browser, () => exit));
      this.o.log('info', 'chromium up', { browser: b.no, pid: b.pid });
      this.o.onUp(b);
    } catch (err) {
      b.state = 'down';
      b.failures++;
      this.o.log('error', 'chromium failed to start', { browser: b.no, err: String(err) });
      removeUserDataDir(b.userDataDir);
      this.scheduleRelaunch(b);
    }
  }

  private async down(b: FleetBrowser, which: Browser, exitReason: () => string): Promise<void> {
    if (b.browser !== which) return;
    b.state = 'down';
    b.browser = null;
    if (this.closing) return;
    // The exit event usually follows 'disconnected' within milliseconds; wait briefly so the reason names it.
    await new Promise((r) => setTimeout(r, 100));
    const reason = `Chromium ${exitReason()}`;
    this.o.log('warn', 'chromium down', { browser: b.no, pid: b.pid, reason });
    this.o.onDown(b, reason);
    await killBrowserTree(b.pid, b.userDataDir, this.markerRoot);
    removeUserDataDir(b.userDataDir);
    if (Date.now() - b.upSince > 60_000) b.failures = 0;
    b.failures++;
    this.scheduleRelaunch(b);
  }

  private scheduleRelaunch(b: FleetBrowser): void {
    if (this.closing) return;
    const delay = Math.min(30_000, 500 * 2 ** Math.max(0, b.failures - 1));
    const t = setTimeout(() => {
      this.timers.delete(t);
      void this.launch(b);
    }, delay);
    this.timers.add(t);
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all(
      this.browsers.map(async (b) => {
        const browser = b.browser;
        b.state = 'down';
        b.browser = null;
        if (browser) {
          // A clean close first (Chromium flushes nothing we need, but it exits its children in order), then the hammer.
          await Promise.race([browser.close().catch(() => {}), new Promise((r) => setTimeout(r, 2_000))]);
        }
        if (b.pid) await killBrowserTree(b.pid, b.userDataDir, this.markerRoot);
        if (b.userDataDir) await removeWhenQuiet(b.userDataDir);
      }),
    );
  }
}

/**
 * Remove a user-data-dir, again if it reappears: a Chromium helper that was already exiting when the tree was killed
 * can still flush a file into it (seen on a loaded machine: a whole Default/ profile back after the first removal).
 */
async function removeWhenQuiet(dir: string): Promise<void> {
  for (let i = 0; i < 5; i++) {
    removeUserDataDir(dir);
    await new Promise((r) => setTimeout(r, 100));
    if (!existsSync(dir)) return;
  }
}
