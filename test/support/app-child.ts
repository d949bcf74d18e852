/**
 * A real second process of the application for crash tests: kernel + composed app (actor hosting on or off) and,
 * optionally, a runs worker, on the database and Redis prefix of a test server. Reports on stdout, one JSON line
 * each: {ready, hostId} once started, then {owned} (run partitions it owns) every 100 ms.
 *
 * env: DATABASE_URL, REDIS_URL (inherited), TEST_DB_NAME, REDIS_PREFIX, SERVICE_TOKEN_SECRET, ENCRYPTION_KEY, TAKOS_DATA_DIR,
 *      CHILD_HOSTING=1|0, CHILD_RUNS_WORKER=1|0, CHILD_BROWSER_WORKER=1|0 (a browser worker; reports {browserWorker, chromiumPids}), CHILD_STALE_MS, CHILD_HEARTBEAT_MS, plus model provider variables.
 */
import { loadConfig } from '../../runtime/config.ts';
import { createKernel } from '../../runtime/kernel.ts';
import { createLogger } from '../../runtime/log.ts';
import { composeApp } from '../../compose.ts';
import { startRunsWorker } from '../../workers/runs/worker.ts';
import { startBrowserKind } from '../../workers/browser/kind.ts';

const config = loadConfig({ ...process.env, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', PG_POOL_MAX: '10' });
const kernel = await createKernel(config, { log: createLogger(config.LOG_LEVEL), database: process.env.TEST_DB_NAME! });
const app = await composeApp(kernel, { hosting: process.env.CHILD_HOSTING === '1', actors: { leaseTtlMs: 1_000, renewEveryMs: 250, timerPollMs: 50 } });
if (process.env.CHILD_RUNS_WORKER === '1') {
  startRunsWorker(app.deps, {
    staleAfterMs: Number(process.env.CHILD_STALE_MS ?? 3000),
    heartbeatMs: Number(process.env.CHILD_HEARTBEAT_MS ?? 500),
    env: { ...process.env, TAKOS_DEMO_DELAY_MS: process.env.TAKOS_DEMO_DELAY_MS ?? '0' },
  });
}
const say = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
if (process.env.CHILD_BROWSER_WORKER === '1') {
  const bw = await startBrowserKind(app.deps, { maxSessions: 2, loadProbe: () => ({ cpu: 0, memory: 0 }), ...(process.env.CHILD_BROWSER_DATA_ROOT ? { dataRoot: process.env.CHILD_BROWSER_DATA_ROOT } : {}) });
  say({ browserWorker: bw.id, chromiumPids: bw.pool.browserProcesses().map((b) => b.pid) });
  // SIGTERM = orderly stop (pages and Chromium closed); SIGKILL is the crash the tests simulate.
  process.once('SIGTERM', () => void bw.close().finally(() => process.exit(0)));
}
say({ ready: true, hostId: app.deps.actors.id });
setInterval(() => say({ owned: app.deps.actors.stats('run').owned }), 100);
