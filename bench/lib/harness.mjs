// Shared orchestration of bench/streams and bench/actors-http, on top of bench/foundation's helpers (procstat, servers,
// wrk) and scripts/lib/services.mjs: throwaway Postgres + Redis pinned to the load core, line-protocol child
// processes, CPU accounting per process group over a measured window, the shared-machine guard, machine facts.
import { spawn, spawnSync } from 'node:child_process';
import { openSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { ensureDatabase, log, root, startPostgres, startRedis } from '../../scripts/lib/services.mjs';
import { allProcessCpu, coreBusyPct, coreTimes, cpuModel, descendants, foreignCpuS, pinTree } from '../foundation/lib/procstat.mjs';

export { log, root };

const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/**
 * Postgres (durable: fsync on) + Redis (no persistence) under `dataDir`, pinned to `loadCpu`, unless DATABASE_URL /
 * REDIS_URL are set. Migrates the database. Returns urls, service pids and a stop function.
 */
export async function startServices({ dataDir, loadCpu, notes, database, pgFast = false }) {
  const stops = [];
  const servicePids = [];
  let databaseUrl = process.env.DATABASE_URL;
  let redisUrl = process.env.REDIS_URL;
  if (!databaseUrl) {
    const pg = await startPostgres(dataDir, { fast: pgFast });
    if (pgFast) notes.push('--pg-fast: Postgres ran with fsync and synchronous_commit off (diagnostic; not a goal measurement)');
    stops.unshift(pg.stop);
    servicePids.push(pg.child.pid);
    databaseUrl = await ensureDatabase(pg.url, database);
  } else notes.push('DATABASE_URL was given: that Postgres was used as is (not pinned, not throwaway).');
  if (!redisUrl) {
    const r = await startRedis(dataDir, { persist: false });
    stops.unshift(r.stop);
    servicePids.push(r.child.pid);
    redisUrl = r.url;
  } else notes.push('REDIS_URL was given: that Redis was used as is (not pinned).');
  for (const pid of servicePids) pinTree(pid, loadCpu);
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'migrate.ts'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) throw new Error('migration failed');
  return {
    databaseUrl,
    redisUrl,
    servicePids,
    /** Postgres backends are forked on demand: re-pin before each measurement. */
    repin: () => servicePids.forEach((p) => pinTree(p, loadCpu)),
    stop: async () => {
      for (const s of stops) await s().catch(() => {});
    },
  };
}

/** Runs a tsx script to completion and returns its last stdout line parsed as JSON. */
export function tsxJson(args, env) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', ...args], { cwd: root, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed with ${r.status}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/**
 * A child process pinned to `cpu` that answers commands with JSON lines on stdout (the C client, the driver).
 * `next()` resolves with the next JSON line (rejects after `timeoutMs` or when the process exits).
 */
export function lineChild({ name, cmd, args, cpu, env, logFile, cwd = root }) {
  const err = openSync(logFile, 'a');
  const child = spawn('taskset', ['-c', String(cpu), cmd, ...args], { cwd, env, stdio: ['pipe', 'pipe', err] });
  const lines = [];
  const waiters = [];
  createInterface({ input: child.stdout }).on('line', (l) => {
    let v;
    try {
      v = JSON.parse(l);
    } catch {
      return;
    }
    const w = waiters.shift();
    if (w) w.resolve(v);
    else lines.push(v);
  });
  child.on('exit', (code, sig) => {
    for (const w of waiters.splice(0)) w.reject(new Error(`${name} exited (${code ?? sig}); see ${logFile}`));
  });
  return {
    name,
    child,
    pid: child.pid,
    send(line) {
      child.stdin.write((typeof line === 'string' ? line : JSON.stringify(line)) + '\n');
    },
    next(timeoutMs = 120_000) {
      if (lines.length) return Promise.resolve(lines.shift());
      if (child.exitCode !== null) return Promise.reject(new Error(`${name} has exited (${child.exitCode}); see ${logFile}`));
      return new Promise((resolve, reject) => {
        const w = { resolve, reject };
        const t = setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`${name}: no answer within ${timeoutMs} ms; see ${logFile}`));
        }, timeoutMs);
        w.resolve = (v) => (clearTimeout(t), resolve(v));
        w.reject = (e) => (clearTimeout(t), reject(e));
        waiters.push(w);
      });
    },
    async request(line, timeoutMs) {
      this.send(line);
      const v = await this.next(timeoutMs);
      if (v && v.error) throw new Error(`${name}: ${v.error}`);
      return v;
    },
    stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      return new Promise((resolve) => {
        const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        try {
          child.stdin.end('quit\n');
        } catch {
          child.kill('SIGTERM');
        }
      });
    },
  };
}

/** Compiles a C file of the bench at run time (gcc is on the machine; `cc` is the portable name). */
export function compileC(src, outFile) {
  const r = spawnSync('cc', ['-O2', '-Wall', '-o', outFile, src], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cc ${src} failed:\n${r.stderr}`);
  return outFile;
}

/**
 * A CPU window: `const w = cpuWindow(); ...; w.end({server: [pid], client: [pid], services: pids})` returns CPU
 * seconds per group (each group's pids and their descendants), per-core busy %, CPU of processes outside this
 * bench (other engineers' work on a shared machine) and the elapsed seconds.
 */
export function cpuWindow(threadsOf = null) {
  const c0 = coreTimes();
  const a0 = allProcessCpu();
  const th0 = threadsOf ? threadCpu(threadsOf) : null;
  const t0 = performance.now();
  return {
    end(groups) {
      const th1 = threadsOf ? threadCpu(threadsOf) : null;
      const a1 = allProcessCpu();
      const elapsedS = (performance.now() - t0) / 1000;
      const cores = coreBusyPct(c0, coreTimes());
      const out = { elapsedS, cores, cpuS: {} };
      for (const [k, pids] of Object.entries(groups)) {
        const all = [...new Set(pids.flatMap((p) => descendants(p)))];
        out.cpuS[k] = all.reduce((s, p) => s + ((a1.get(p) ?? 0) - (a0.get(p) ?? 0)), 0);
      }
      out.foreignPct = (foreignCpuS(a0, a1, new Set(descendants(process.pid))) / elapsedS) * 100;
      if (th1) out.threadsS = Object.fromEntries(Object.entries(th1).map(([k, v]) => [k, v - (th0[k] ?? 0)]).filter(([, v]) => v > 0));
      return out;
    },
  };
}

/**
 * CPU seconds of one process by thread name (/proc/<pid>/task/<tid>/stat): the main thread ("node") apart from
 * V8's helpers ("V8 DefaultWorke": concurrent GC and compilation) and libuv's pool ("libuv-worker").
 */
export function threadCpu(pid) {
  const out = {};
  let tids;
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const s = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'));
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      const key = tid === String(pid) ? 'main' : name;
      out[key] = (out[key] ?? 0) + (Number(f[11]) + Number(f[12])) / TICKS;
    } catch {
      /* the thread ended */
    }
  }
  return out;
}

/**
 * The shared-machine guard: waits (up to maxWaitS) until processes outside this bench use at most quietPct % of a
 * core, measured over 2 s. Returns the share seen last. `stop()` true (e.g. the bench was interrupted) ends the wait.
 */
export async function waitQuiet({ quietPct, maxWaitS, notes, label = '', stop = () => false }) {
  const deadline = Date.now() + maxWaitS * 1000;
  let said = false;
  for (;;) {
    const c = coreTimes();
    const a = allProcessCpu();
    await new Promise((r) => setTimeout(r, 2000));
    const busy = Object.values(coreBusyPct(c, coreTimes())).reduce((x, y) => x + y, 0);
    const b = allProcessCpu();
    const own = descendants(process.pid).reduce((sum, p) => sum + ((b.get(p) ?? 0) - (a.get(p) ?? 0)), 0);
    const pct = Math.max(0, busy - (own / 2) * 100);
    if (pct <= quietPct || stop()) return pct;
    if (Date.now() > deadline) {
      notes.push(`${label ? `${label}: ` : ''}the machine did not become quiet within ${maxWaitS} s (${Math.round(pct)}% of a core busy elsewhere); measured anyway`);
      return pct;
    }
    if (!said) log(`waiting for the machine to become quiet (${Math.round(pct)}% of a core busy elsewhere)`);
    said = true;
  }
}

/** The C compiler's version line, for benches whose client is compiled here. */
export const ccVersion = () => spawnSync('cc', ['--version'], { encoding: 'utf8' }).stdout?.split('\n')[0] ?? 'unknown';

export async function machineInfo(databaseUrl, redisUrl, extra = {}) {
  const { default: postgres } = await import(path.join(root, 'node_modules', 'postgres', 'src', 'index.js'));
  const { Redis } = await import(path.join(root, 'node_modules', 'ioredis', 'built', 'index.js'));
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const redis = new Redis(redisUrl);
  try {
    const [{ server_version }] = await sql`SHOW server_version`;
    const info = await redis.info('server');
    const pkg = (name) => JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
    return {
      nproc: os.availableParallelism(),
      'model name': cpuModel(),
      memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
      kernel: `${os.type()} ${os.release()}`,
      node: process.version,
      'uWebSockets.js': pkg('uWebSockets.js'),
      'postgres.js': pkg('postgres'),
      ioredis: pkg('ioredis'),
      postgres: server_version,
      redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
      ...extra,
    };
  } finally {
    await sql.end();
    redis.disconnect();
  }
}

export const median = (xs) => {
  const s = xs.filter((x) => x !== null && x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export const fmt = {
  n0: (n) => (n === null || n === undefined ? '-' : Math.round(n).toLocaleString('en-US')),
  n1: (n) => (n === null || n === undefined ? '-' : n.toFixed(1)),
  n2: (n) => (n === null || n === undefined ? '-' : n.toFixed(2)),
  n3: (n) => (n === null || n === undefined ? '-' : n.toFixed(3)),
};

/** A markdown table from a header row and rows of cells. */
export function mdTable(head, rows, align) {
  const a = align ?? head.map((_, i) => (i === 0 ? '---' : '---:'));
  const esc = (c) => String(c ?? '-').replace(/\|/g, '\\|');
  return [`| ${head.map(esc).join(' | ')} |`, `| ${a.join(' | ')} |`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}
