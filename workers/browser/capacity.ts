import os from 'node:os';

/**
 * How many sessions a worker holds, and how loaded the machine is.
 *
 * Default size (`defaultMaxSessions`), measured on Debian chromium 156, headless=new, 2 cores / 24 GiB:
 *  - one browser costs ~315-375 MB PSS idle; each incognito context + page adds ~22 MB PSS on a simple page (one
 *    renderer, once the omnibox WebUI renderers are disabled: chromium.ts); we budget 100 MB per session for real
 *    pages, which keeps the >= 10 sessions per GB goal with room to spare;
 *  - CPU, not memory, is what runs out first on small machines: most sessions are idle between commands, and 8
 *    sessions per core keeps a burst of screenshots from starving everything else.
 *  max = clamp(min(floor((0.5 * memory - browsers * 400 MB) / 100 MB), 8 * cores), 1, 256)
 *  where memory is the cgroup limit when there is one, else total RAM. On the 2-core / 24 GiB machine: min(118, 16) = 16.
 * One browser process serves up to `SESSIONS_PER_BROWSER` sessions, so a crash takes down at most that many.
 */

export const SESSION_BUDGET_BYTES = 100 * 1024 * 1024;
export const BROWSER_BASELINE_BYTES = 400 * 1024 * 1024;
export const SESSIONS_PER_BROWSER = 24;

export function machineMemory(): number {
  const total = os.totalmem();
  const constrained = typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : 0;
  // constrainedMemory() reports a huge number when there is no limit.
  return constrained && constrained > 0 && constrained < total ? constrained : total;
}

export function defaultMaxSessions(memory = machineMemory(), cores = os.availableParallelism()): number {
  const byCpu = 8 * cores;
  const browsers = Math.max(1, Math.ceil(byCpu / SESSIONS_PER_BROWSER));
  const byMem = Math.floor((0.5 * memory - browsers * BROWSER_BASELINE_BYTES) / SESSION_BUDGET_BYTES);
  return Math.max(1, Math.min(256, byMem, byCpu));
}

export const browsersFor = (maxSessions: number): number => Math.max(1, Math.ceil(maxSessions / SESSIONS_PER_BROWSER));

export interface Load {
  /** Machine CPU busy fraction over the last sampling interval, 0..1. */
  cpu: number;
  /** Fraction of memory in use (1 - available / total, cgroup-aware), 0..1. */
  memory: number;
}

export type LoadProbe = () => Load;

function memoryInUse(): number {
  const total = machineMemory();
  // os.freemem() is MemAvailable on Linux (page cache counts as available); process.availableMemory() is cgroup-aware.
  const avail = typeof process.availableMemory === 'function' ? Math.min(process.availableMemory(), os.freemem()) : os.freemem();
  return Math.min(1, Math.max(0, 1 - avail / total));
}

/**
 * Samples machine CPU from os.cpus() tick deltas. Read on demand, never on a timer: the value covers the time since
 * the previous read (at least `minIntervalMs`, so two reads in a row do not measure a few noisy milliseconds).
 */
export class LoadSampler {
  private prev = LoadSampler.ticks();
  private prevAt = Date.now();
  private last: Load = { cpu: 0, memory: memoryInUse() };
  constructor(private readonly minIntervalMs = 1_000) {}

  private static ticks(): { idle: number; total: number } {
    let idle = 0;
    let total = 0;
    for (const c of os.cpus()) {
      const t = c.times;
      idle += t.idle;
      total += t.user + t.nice + t.sys + t.idle + t.irq;
    }
    return { idle, total };
  }

  read: LoadProbe = () => {
    const now = Date.now();
    if (now - this.prevAt >= this.minIntervalMs) {
      const cur = LoadSampler.ticks();
      const dTotal = cur.total - this.prev.total;
      const cpu = dTotal > 0 ? 1 - (cur.idle - this.prev.idle) / dTotal : this.last.cpu;
      this.last = { cpu: Math.min(1, Math.max(0, cpu)), memory: memoryInUse() };
      this.prev = cur;
      this.prevAt = now;
    }
    return this.last;
  };
}

/**
 * Retry-After hint for a caller turned away: how long until enough sessions have ended for the queue to move by one
 * place, from the rate at which sessions ended over the last minute. Without history: `fallbackSeconds`.
 */
export class ReleaseRate {
  private readonly ends: number[] = [];
  constructor(private readonly windowMs = 60_000) {}

  released(now = Date.now()): void {
    this.ends.push(now);
    this.trim(now);
  }

  private trim(now: number): void {
    while (this.ends.length > 0 && this.ends[0]! < now - this.windowMs) this.ends.shift();
  }

  retryAfterSeconds(waiting: number, fallbackSeconds = 10, now = Date.now()): number {
    this.trim(now);
    if (this.ends.length < 2) return fallbackSeconds;
    const perSecond = this.ends.length / (this.windowMs / 1000);
    return Math.min(120, Math.max(1, Math.ceil((waiting + 1) / perSecond)));
  }
}
