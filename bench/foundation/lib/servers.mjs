// Starting and stopping the two servers under test, pinned to one core, with their output kept in log files.
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';

/**
 * Spawns `node [nodeFlags] --import tsx <entry>` through `taskset -c <cpu>`. taskset execs node, so the child's pid
 * is the server's pid (which the CPU accounting reads).
 */
export function startNode({ name, entry, env, cpu, cwd, logFile, nodeFlags = [] }) {
  const out = openSync(logFile, 'a');
  const child = spawn('taskset', ['-c', String(cpu), process.execPath, ...nodeFlags, '--import', 'tsx', entry], {
    cwd,
    env,
    stdio: ['ignore', out, out],
  });
  return { name, child, pid: child.pid, logFile };
}

/** Polls `url` until it answers (any HTTP status) or the process dies or the deadline passes. */
export async function waitHttp(server, url, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (server.child.exitCode !== null) throw new Error(`${server.name} exited with ${server.child.exitCode} while starting (see ${server.logFile})`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await r.arrayBuffer();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${server.name} did not answer ${url} within ${timeoutMs} ms (see ${server.logFile})`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** SIGTERM (graceful: lets `--cpu-prof` write its file), SIGKILL after `graceMs`. */
export function stopNode(server, graceMs = 15_000) {
  const c = server.child;
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => c.kill('SIGKILL'), graceMs);
    c.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    c.kill('SIGTERM');
  });
}
