#!/usr/bin/env node
// `node bench/actors/run.mjs [args for turns.ts]`: the actor turn micro-benchmark on a throwaway Postgres (durable
// settings: fsync on, as in production) and Redis (no persistence) under .data/bench-actors-<pid>/, then cleans up.
// With DATABASE_URL and REDIS_URL set, uses those instead. The benchmark process is pinned to CPU 0 and the services
// to CPU 1 when `taskset` is available (perf/ceilings.md: keep Postgres and Redis off the measured core).
import { spawnSync, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { ensureDatabase, log, root, startPostgres, startRedis } from '../../scripts/lib/services.mjs';

const args = process.argv.slice(2);
const dataDir = path.join(root, '.data', `bench-actors-${process.pid}`);
const haveTaskset = spawnSync('sh', ['-c', 'command -v taskset'], { stdio: 'ignore' }).status === 0;
// Pins a process and its descendants (postgres runs under runuser; backends forked later inherit the postmaster's).
const pin = (pid, cpu) => {
  if (!haveTaskset || !pid) return;
  spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
  const kids = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout ?? '';
  for (const k of kids.split('\n').filter(Boolean)) pin(Number(k), cpu);
};
const stops = [];
const env = { ...process.env };
let status = 1;
try {
  if (!env.DATABASE_URL) {
    const pg = await startPostgres(dataDir, { fast: false });
    stops.unshift(pg.stop);
    pin(pg.child.pid, 1);
    env.DATABASE_URL = await ensureDatabase(pg.url, 'postgres');
  }
  if (!env.REDIS_URL) {
    const r = await startRedis(dataDir, { persist: false });
    stops.unshift(r.stop);
    pin(r.child?.pid, 1);
    env.REDIS_URL = r.url;
  }
  log(`actor turns benchmark${haveTaskset ? ' (bench on CPU 0, services on CPU 1)' : ''}`);
  const cmd = haveTaskset ? 'taskset' : process.execPath;
  const cmdArgs = [...(haveTaskset ? ['-c', '0', process.execPath] : []), '--import', 'tsx', path.join(root, 'bench/actors/turns.ts'), ...args];
  const child = spawn(cmd, cmdArgs, { cwd: root, env, stdio: 'inherit' });
  status = await new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
} catch (err) {
  log(`benchmark failed: ${err instanceof Error ? err.stack : String(err)}`);
} finally {
  for (const stop of stops) await stop();
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(status);
