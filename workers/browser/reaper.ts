import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Finds and kills Chromium process trees by the marker in their `--user-data-dir` (see chromium.ts). Linux /proc only.
 *
 * Two cases:
 *  - at pool start: processes whose owner (the worker that launched them) is dead are orphans of a crashed or
 *    SIGKILLed worker, and are killed with their user-data-dirs removed;
 *  - after a browser dies or is closed: whatever is left of its tree (renderers whose parent was SIGKILLed get
 *    reparented to init and can linger) is killed.
 * Zombies (state Z) are ignored: they hold no memory and only their parent (or init) can reap them.
 */

export interface ProcInfo {
  pid: number;
  pgid: number;
  state: string;
  startTime: number;
  cmdline: string[];
}

function readStat(pid: number): { state: string; pgid: number; startTime: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may itself contain spaces or parentheses: split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[0] = state (field 3), rest[2] = pgrp (field 5), rest[19] = starttime (field 22)
    return { state: rest[0] ?? '?', pgid: Number(rest[2]), startTime: Number(rest[19]) };
  } catch {
    return null;
  }
}

/** Start time of a process in clock ticks since boot; with the pid it identifies a process across pid reuse. */
export function processStartTime(pid: number): number | null {
  return readStat(pid)?.startTime ?? null;
}

export function listProcesses(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const st = readStat(pid);
    if (!st) continue;
    let cmdline: string[] = [];
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      /* exited meanwhile */
    }
    out.push({ pid, ...st, cmdline });
  }
  return out;
}

const udd = (p: ProcInfo): string | undefined => p.cmdline.find((a) => a.startsWith('--user-data-dir='))?.slice('--user-data-dir='.length);

/** Live (non-zombie) processes whose user-data-dir is under `markerRoot` (optionally: exactly `dir`). */
export function markedProcesses(markerRoot: string, dir?: string): Array<ProcInfo & { userDataDir: string }> {
  const prefix = markerRoot.endsWith(path.sep) ? markerRoot : markerRoot + path.sep;
  const out: Array<ProcInfo & { userDataDir: string }> = [];
  for (const p of listProcesses()) {
    if (p.state === 'Z' || p.pid === process.pid) continue;
    const d = udd(p);
    if (!d || !d.startsWith(prefix)) continue;
    if (dir && d !== dir) continue;
    out.push({ ...p, userDataDir: d });
  }
  return out;
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone (ESRCH) */
  }
}

/** Owner marker `o<pid>-<start>-...` of a user-data-dir name; null when the name is not ours. */
export function ownerOf(userDataDir: string): { pid: number; startTime: number } | null {
  const m = /^o(\d+)-(\d+)-/.exec(path.basename(userDataDir));
  return m ? { pid: Number(m[1]), startTime: Number(m[2]) } : null;
}

function ownerAlive(owner: { pid: number; startTime: number }): boolean {
  const st = processStartTime(owner.pid);
  return st !== null && (owner.startTime === 0 || st === owner.startTime);
}

async function waitGone(pids: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const alive = pids.filter((p) => {
      const st = readStat(p);
      return st !== null && st.state !== 'Z';
    });
    if (alive.length === 0) return;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** SIGKILL a browser's whole tree: its process group, then anything still carrying its user-data-dir. */
export async function killBrowserTree(pid: number, userDataDir: string, markerRoot: string): Promise<number> {
  kill(-pid, 'SIGKILL');
  kill(pid, 'SIGKILL');
  const left = markedProcesses(markerRoot, userDataDir);
  for (const p of left) kill(p.pid, 'SIGKILL');
  await waitGone([pid, ...left.map((p) => p.pid)], 2_000);
  return left.length;
}

/**
 * Kill every marked Chromium process whose owning worker is gone. Returns the user-data-dirs of the killed trees
 * (the caller removes them) and how many processes were killed.
 */
export async function reapOrphans(markerRoot: string): Promise<{ killed: number; dirs: string[] }> {
  const victims = markedProcesses(markerRoot).filter((p) => {
    const owner = ownerOf(p.userDataDir);
    return owner !== null && owner.pid !== process.pid && !ownerAlive(owner);
  });
  const own = readStat(process.pid)?.pgid;
  // Browsers are launched detached, so their group is their own; never signal our group or init's.
  const groups = new Set(victims.map((p) => p.pgid).filter((g) => g > 1 && g !== own));
  for (const g of groups) kill(-g, 'SIGKILL');
  for (const p of victims) kill(p.pid, 'SIGKILL');
  await waitGone(victims.map((p) => p.pid), 2_000);
  return { killed: victims.length, dirs: [...new Set(victims.map((p) => p.userDataDir))] };
}

/** User-data-dirs under `markerRoot` whose owner is dead (left behind by a worker that died after its browsers). */
export function staleDirs(markerRoot: string): string[] {
  let names: string[];
  try {
    names = readdirSync(markerRoot);
  } catch {
    return [];
  }
  return names
    .map((n) => path.join(markerRoot, n))
    .filter((d) => {
      const owner = ownerOf(d);
      return owner !== null && owner.pid !== process.pid && !ownerAlive(owner);
    });
}

/** Proportional set size (shared pages split among sharers) of a browser's live processes, in bytes. */
export function treeMemory(markerRoot: string, userDataDir: string): number {
  let kb = 0;
  for (const p of markedProcesses(markerRoot, userDataDir)) {
    try {
      const m = /^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${p.pid}/smaps_rollup`, 'utf8'));
      kb += m ? Number(m[1]) : 0;
    } catch {
      /* exited meanwhile */
    }
  }
  return kb * 1024;
}
