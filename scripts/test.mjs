#!/usr/bin/env node
// `npm test`: the whole suite on a fresh clone, with nothing installed or started first.
//   1. npm ci if needed; 2. verify the uWebSockets.js binary; 3. type-check and lint;
//   4. a throwaway Postgres + Redis (unless DATABASE_URL / REDIS_URL are given); 5. vitest; 6. a closing summary line.
// Extra arguments go to vitest (e.g. `npm test -- test/api/spaces.test.ts`).
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, existsSync } from 'node:fs';
import path from 'node:path';
import { ensureNodeModules, ensureDatabase, log, root, startPostgres, startRedis } from './lib/services.mjs';
import { verifyUws } from './lib/verify-uws.mjs';
import { ensureChromium } from './lib/chromium.mjs';

const args = process.argv.slice(2);
const quick = process.env.TAKOS_TEST_QUICK === '1'; // skip type-check and lint while iterating

ensureNodeModules();
verifyUws();

const step = (name, cmd, cmdArgs) => {
  log(name);
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    log(`${name} failed`);
    process.exit(r.status ?? 1);
  }
};
if (!quick) {
  step('type-check (tsc --noEmit)', process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', root]);
  step('lint (eslint)', process.execPath, [path.join(root, 'node_modules/eslint/bin/eslint.js'), '--max-warnings=0', '.']);
}

const dataDir = path.join(root, '.data', `test-${process.pid}`);
rmSync(dataDir, { recursive: true, force: true });
const stops = [];
const env = { ...process.env, CI: process.env.CI ?? '', CHROMIUM_PATH: ensureChromium() }; // browser pool tests drive a real Chromium
let status = 1;
try {
  if (!env.DATABASE_URL) {
    const pg = await startPostgres(dataDir, { fast: true });
    stops.unshift(pg.stop);
    env.DATABASE_URL = await ensureDatabase(pg.url, 'postgres');
  }
  if (!env.REDIS_URL) {
    const r = await startRedis(dataDir, { persist: false });
    stops.unshift(r.stop);
    env.REDIS_URL = r.url;
  }
  const report = path.join(dataDir, 'vitest-report.json');
  log('vitest');
  const r = spawnSync(process.execPath, [path.join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...args], {
    cwd: root,
    env,
    stdio: 'inherit',
  });
  status = r.status ?? 1;
  if (existsSync(report)) {
    const j = JSON.parse(readFileSync(report, 'utf8'));
    const skipped = (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0);
    // The plain closing line CI reads: "N passed, N failed".
    process.stdout.write(`\ntests: ${j.numPassedTests} passed, ${j.numFailedTests} failed, ${skipped} skipped\n`);
    if (j.numTotalTests === 0) status = 1;
  }
} catch (err) {
  log(`test run failed: ${err instanceof Error ? err.stack : String(err)}`);
  status = 1;
} finally {
  for (const stop of stops) await stop();
  if (status === 0) rmSync(dataDir, { recursive: true, force: true });
}
process.exit(status);
