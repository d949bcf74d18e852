// CPU pinning and CPU accounting from /proc (Linux only, like taskset). Used to keep Postgres and Redis off the
// server's core, and to show per round how busy each core and each process was: a bench whose generator core is
// saturated measures the generator, not the server, and the report must make that visible.
import { readFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

function statFields(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) is in parentheses and may contain spaces; everything after the last ')' is space-separated.
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** `pid` and every process below it (a postmaster's backends, runuser's postgres). */
export function descendants(pid) {
  const children = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const f = statFields(d);
    if (!f) continue;
    const ppid = Number(f[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(d));
  }
  const out = [];
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop();
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

/**
 * Pins a process tree (all threads) to `cpus`. Children forked later inherit the mask, so pinning a postmaster
 * pins the backends it starts afterwards. Returns how many processes were pinned.
 */
export function pinTree(pid, cpus) {
  let n = 0;
  for (const p of descendants(pid)) {
    if (spawnSync('taskset', ['-a', '-p', '-c', cpus, String(p)], { stdio: 'ignore' }).status === 0) n++;
  }
  return n;
}

/** CPU seconds (user + system) used so far by the given processes; vanished processes count as 0. */
export function processCpuS(pids) {
  let ticks = 0;
  for (const p of pids) {
    const f = statFields(p);
    // After comm: state(0) ppid(1) ... utime is field 14 overall, i.e. index 11 here; stime index 12.
    if (f) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / TICKS;
}

/** Busy and total jiffies per core, from /proc/stat. */
export function coreTimes() {
  const out = {};
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2].trim().split(/\s+/).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = v[3] + v[4];
    out[m[1]] = { busy: total - idle, total };
  }
  return out;
}

/** Percent busy per core between two `coreTimes()` samples. */
export function coreBusyPct(before, after) {
  const out = {};
  for (const k of Object.keys(after)) {
    const dt = after[k].total - (before[k]?.total ?? 0);
    out[`cpu${k}`] = dt > 0 ? ((after[k].busy - before[k].busy) / dt) * 100 : 0;
  }
  return out;
}

export function cpuModel() {
  const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return m ? m[1].trim() : 'unknown';
}

/** CPU seconds so far of every process on the machine, by pid. */
export function allProcessCpu() {
  const out = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const f = statFields(d);
    if (f) out.set(Number(d), (Number(f[11]) + Number(f[12])) / TICKS);
  }
  return out;
}

/**
 * CPU seconds that processes outside `own` (a set of pids) used between two `allProcessCpu()` samples: the other
 * engineers' test runs and compilers on a shared machine. Processes that started in between count in full;
 * processes that ended in between are not seen (their time goes to their parent's children time).
 */
export function foreignCpuS(before, after, own) {
  let s = 0;
  for (const [pid, t] of after) if (!own.has(pid)) s += t - (before.get(pid) ?? 0);
  return s;
}
