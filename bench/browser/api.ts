/**
 * Browser sessions through the HTTP API (issue 6, item 5, part 2): the same three measurements as run.ts, but every
 * session is created, screenshotted and destroyed with real HTTP requests to a real server (uWS front, auth, the
 * browser-session actor in Postgres, the Redis command wire to a browser worker), on a throwaway Postgres + Redis.
 *
 *   node --expose-gc --import tsx bench/browser/api.ts [--iterations 20] [--sessions 30] [--loop 200] [--gap 1500] [--no-write]
 *
 * The web front and the browser worker share this process (two processes would add one more Node start, not a
 * different path: commands still go through Redis). The baseline is the same bare puppeteer launch as run.ts.
 */
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
// @ts-expect-error plain ESM helper without types
import { ensureDatabase, root, startPostgres, startRedis } from '../../scripts/lib/services.mjs';
import { loadConfig } from '../../runtime/config.ts';
import { createKernel } from '../../runtime/kernel.ts';
import { createUser, createPat } from '../../runtime/identity/users.ts';
import { composeApp } from '../../compose.ts';
import { buildApp } from '../../http/app.ts';
import { findChromium } from '../../workers/browser/chromium.ts';
import { startBrowserKind } from '../../workers/browser/kind.ts';
import { bareLaunchShot, liveChromium, pct, servePage, settledChromium } from './common.ts';

const { values: args } = parseArgs({
  options: {
    iterations: { type: 'string', default: '20' },
    sessions: { type: 'string', default: '30' },
    loop: { type: 'string', default: '200' },
    gap: { type: 'string', default: '1500' },
    'no-write': { type: 'boolean', default: false },
  },
});
const ITER = Number(args.iterations);
const HELD = Number(args.sessions);
const LOOP = Number(args.loop);
const GAP = Number(args.gap);
const out = (s: string) => process.stdout.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MB = 1024 * 1024;

async function main() {
  const { url, server: site } = await servePage();

  const dir = mkdtempSync(path.join(os.tmpdir(), 'takos-bench-browser-api-'));
  // Reachable by the postgres user, so the cluster lives under `dir` and goes with it (not a kept /tmp/takos-pg-*).
  chmodSync(dir, 0o755);
  const pg = await startPostgres(dir, { fast: true });
  const redis = await startRedis(dir, { persist: false });
  const databaseUrl: string = await ensureDatabase(pg.url, 'bench_browser');
  const m = spawnSync(process.execPath, ['--import', 'tsx', 'migrate.ts'], { cwd: root, env: { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL: redis.url, LOG_LEVEL: 'warn' }, stdio: 'inherit' });
  if (m.status !== 0) throw new Error('migration failed');

  const config = loadConfig({ ...process.env, DATABASE_URL: databaseUrl, REDIS_URL: redis.url, TAKOS_DATA_DIR: dir, PORT: '0', LOG_LEVEL: 'warn', BROWSER_ALLOW_LOOPBACK: '1', ENVIRONMENT: 'test' });
  const kernel = await createKernel(config);
  const app = await composeApp(kernel, { hosting: true });
  const worker = await startBrowserKind(app.deps, { maxSessions: Math.max(HELD, 4), queueTimeoutMs: 120_000, loadProbe: () => ({ cpu: 0, memory: 0 }) });
  const pool = worker.pool;
  const { server } = buildApp(app.deps);
  const port = await server.listen('127.0.0.1', 0);
  const api = `http://127.0.0.1:${port}`;
  const user = await createUser(kernel.sql, { username: 'bench', email: 'bench@example.test', name: 'Bench', isServerAdmin: true });
  const { token } = await createPat(kernel.sql, user.id, 'bench');
  const h = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const space = ((await (await fetch(`${api}/api/spaces`, { method: 'POST', headers: h, body: JSON.stringify({ name: 'Bench' }) })).json()) as { space: { id: string } }).space.id;

  const createSession = async () => {
    const r = await fetch(`${api}/api/spaces/${space}/browser-sessions`, { method: 'POST', headers: h, body: JSON.stringify({ url }) });
    const b = (await r.json()) as { sessionId: string };
    if (r.status !== 201) throw new Error(`create: ${r.status} ${JSON.stringify(b)}`);
    return b.sessionId;
  };
  const shot = async (id: string) => {
    const r = await fetch(`${api}/api/browser-sessions/${id}/screenshot`, { headers: h });
    const png = Buffer.from(await r.arrayBuffer());
    if (r.status !== 200 || png.length < 100) throw new Error(`screenshot: ${r.status}`);
  };
  const destroy = async (id: string) => {
    const r = await fetch(`${api}/api/browser-sessions/${id}`, { method: 'DELETE', headers: h });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`delete: ${r.status}`);
  };
  await sleep(1_000);

  // 1. create -> first screenshot through the API vs bare launch, alternating.
  const exe = findChromium();
  const warm: number[] = [];
  const bare: number[] = [];
  // Where the project's time goes: POST (session created, first navigation done) and the GET of the screenshot.
  const split = { create: [] as number[], shot: [] as number[] };
  for (let i = 0; i < ITER; i++) {
    const t = performance.now();
    const id = await createSession();
    const created = performance.now();
    await shot(id);
    warm.push(performance.now() - t);
    split.create.push(created - t);
    split.shot.push(performance.now() - created);
    await destroy(id);
    await sleep(GAP);
    bare.push(await bareLaunchShot(exe, path.join(dir, `bare-${i}`), url));
    await sleep(GAP);
  }
  const latency = {
    warm: { p50: pct(warm, 50), p99: pct(warm, 99) },
    bare: { p50: pct(bare, 50), p99: pct(bare, 99) },
    ratioP50: pct(warm, 50) / pct(bare, 50),
    split: { createP50: pct(split.create, 50), screenshotP50: pct(split.shot, 50) },
  };

  // 2. sessions per GB, sessions created through the API.
  const treePss = () => pool.capacity().browsers.reduce((a, b) => a + b.memoryBytes, 0);
  await sleep(1_000);
  const idle = treePss();
  const held: string[] = [];
  for (let i = 0; i < HELD; i++) held.push(await createSession());
  await sleep(1_000);
  const full = treePss();
  for (const id of held) await destroy(id);
  const perSession = (full - idle) / HELD;
  const memory = { idleMB: idle / MB, withSessionsMB: full / MB, perSessionMB: perSession / MB, sessionsPerGB: (1024 * MB) / perSession, sessionsPerGBInclBrowser: (HELD * 1024 * MB) / full };

  // 3. LOOP create/destroy through the API: RSS of this process (web + worker) and Chromium PSS before/after.
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  for (let i = 0; i < 20; i++) await destroy(await createSession());
  await sleep(1_000);
  gc();
  const before = { rss: process.memoryUsage().rss, chromium: treePss(), processes: await settledChromium(pool.markerRoot) };
  for (let i = 0; i < LOOP; i++) await destroy(await createSession());
  await sleep(2_000);
  gc();
  const after = { rss: process.memoryUsage().rss, chromium: treePss(), processes: await settledChromium(pool.markerRoot) };
  const [live] = await kernel.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM browser_sessions WHERE status IN ('starting', 'active')`;
  const stillLive = live!.n;
  await server.close(1000);
  await worker.close();
  const leftAfterClose = liveChromium(pool.markerRoot);
  await app.stop();
  await kernel.close();
  await redis.stop();
  await pg.stop();
  site.close();
  rmSync(dir, { recursive: true, force: true });

  const loop = {
    iterations: LOOP,
    rssGrowthPct: ((after.rss - before.rss) / before.rss) * 100,
    chromiumPssGrowthPct: ((after.chromium - before.chromium) / before.chromium) * 100,
    processesBefore: before.processes,
    processesAfter: after.processes,
    liveRowsAfter: stillLive,
    chromiumProcessesAfterClose: leftAfterClose,
  };
  const verdict = {
    latency: latency.ratioP50 <= 0.2,
    density: memory.sessionsPerGB >= 10,
    loop: loop.rssGrowthPct <= 5 && loop.chromiumPssGrowthPct <= 5 && leftAfterClose === 0 && after.processes <= before.processes && stillLive === 0,
  };
  const f = (n: number) => n.toFixed(1);
  const cmd = `node --expose-gc --import tsx bench/browser/api.ts --iterations ${ITER} --sessions ${HELD} --loop ${LOOP} --gap ${GAP}`;
  const md = [
    `## Through the HTTP API (${new Date().toISOString()})`,
    '',
    `Command: \`${cmd}\``,
    '',
    `Machine: ${os.cpus().length} cores, ${f(os.totalmem() / 1024 ** 3)} GiB; Chromium ${exe}. Web front + browser worker in one process, throwaway Postgres + Redis.`,
    `Project = \`POST /api/spaces/:id/browser-sessions {url}\` + \`GET /api/browser-sessions/:id/screenshot\`; baseline = puppeteer.launch + newPage + goto + screenshot.`,
    '',
    '| measure | project | baseline | ratio / value | goal | ok |',
    '| --- | ---: | ---: | ---: | --- | --- |',
    `| create -> first screenshot p50 (ms) | ${f(latency.warm.p50)} | ${f(latency.bare.p50)} | ${latency.ratioP50.toFixed(3)}x | <= 0.2x | ${verdict.latency ? 'yes' : 'NO'} |`,
    `| create -> first screenshot p99 (ms) | ${f(latency.warm.p99)} | ${f(latency.bare.p99)} | ${(latency.warm.p99 / latency.bare.p99).toFixed(3)}x | | |`,
    `| of which POST create (with the first navigation) / GET screenshot, p50 (ms) | ${f(latency.split.createP50)} / ${f(latency.split.screenshotP50)} | | | | |`,
    `| PSS per session (MB), ${HELD} held via API | ${f(memory.perSessionMB)} | | ${f(memory.sessionsPerGB)} sessions/GB (${f(memory.sessionsPerGBInclBrowser)} incl. browser) | >= 10/GB | ${verdict.density ? 'yes' : 'NO'} |`,
    `| ${LOOP}-session API loop: process RSS / Chromium PSS growth | ${f(loop.rssGrowthPct)}% / ${f(loop.chromiumPssGrowthPct)}% | | processes ${loop.processesBefore} -> ${loop.processesAfter}, ${leftAfterClose} after close, ${stillLive} live rows | <= 5%, none left | ${verdict.loop ? 'yes' : 'NO'} |`,
  ].join('\n');
  out(md);
  if (!args['no-write']) {
    const res = path.join(import.meta.dirname, '..', 'results');
    mkdirSync(res, { recursive: true });
    const stamp = new Date().toISOString().slice(0, 10);
    const file = path.join(res, `browser-${stamp}.md`);
    if (existsSync(file)) appendFileSync(file, `\n${md}\n`);
    else writeFileSync(file, `# Browser benchmark (${stamp})\n\n${md}\n`);
    writeFileSync(path.join(res, `browser-api-${stamp}.json`), JSON.stringify({ args: { ITER, HELD, LOOP, GAP }, latency, warm, bare, memory, loop, verdict }, null, 2) + '\n');
  }
}

await main();
