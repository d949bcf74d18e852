#!/usr/bin/env node
// `npm start`: the whole server on embedded defaults, on a fresh clone, with nothing installed or started first.
//   1. npm ci if node_modules is missing or stale
//   2. Postgres and Redis of our own under $TAKOS_DATA_DIR (default ./.data), unless DATABASE_URL / REDIS_URL are set
//   3. migrations, then the server admin and its token (printed, and written to $TAKOS_DATA_DIR/admin-token)
//   4. the process tree of the Procfile (web + workers), supervised; Ctrl-C stops everything, services last
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { ensureNodeModules, ensureDatabase, log, root, startPostgres, startRedis } from './lib/services.mjs';
import { processTree } from './lib/procfile.mjs';
import { ensureChromium } from './lib/chromium.mjs';

ensureNodeModules();
const dataDir = path.resolve(process.env.TAKOS_DATA_DIR ?? path.join(root, '.data'));
const port = process.env.PORT ?? '8787';
const stops = [];
let shuttingDown = false;
const env = { ...process.env, TAKOS_DATA_DIR: dataDir, PORT: port };
const chromium = ensureChromium({ required: false }); // for the browser worker pool; without it only browser sessions are off
if (chromium) env.CHROMIUM_PATH = chromium;

try {
  if (!env.DATABASE_URL) {
    const pg = await startPostgres(dataDir);
    stops.unshift(pg.stop);
    env.DATABASE_URL = await ensureDatabase(pg.url, 'takos');
    log(`postgres on 127.0.0.1:${pg.port} (data in ${dataDir})`);
  }
  if (!env.REDIS_URL) {
    const r = await startRedis(dataDir);
    stops.unshift(r.stop);
    env.REDIS_URL = r.url;
    log(`redis on 127.0.0.1:${r.port}`);
  }
  const boot = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/bootstrap.ts'], { cwd: root, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (boot.status !== 0) throw new Error('migration / bootstrap failed');
  const admin = JSON.parse(boot.stdout.trim().split('\n').pop());

  const children = processTree(env).map(({ name, args }) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: root, env: { ...env, TAKOS_PROCESS: name }, stdio: 'inherit' });
    child.on('exit', (code, signal) => {
      if (!shuttingDown) {
        log(`${name} exited (${code ?? signal}); stopping`);
        void shutdown(1);
      }
    });
    return child;
  });

  const url = env.PUBLIC_URL ?? `http://localhost:${port}`;
  process.stdout.write(
    `\n  Takos Runtime is starting at ${url}\n` +
      `  Admin user: ${admin.username}\n` +
      `  Admin token (${admin.created ? 'new' : 'existing'}; also in ${path.join(dataDir, 'admin-token')}):\n\n` +
      `    ${admin.token}\n\n` +
      `  Try: curl -H "Authorization: Bearer ${admin.token}" ${url}/api/me\n\n`,
  );

  async function shutdown(code) {
    if (shuttingDown) return;
    shuttingDown = true;
    await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => { c.once('exit', r); c.kill('SIGTERM'); }) : null)));
    for (const stop of stops) await stop();
    process.exit(code);
  }
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
} catch (err) {
  log(`start failed: ${err instanceof Error ? err.message : String(err)}`);
  for (const stop of stops) await stop();
  process.exit(1);
}
