import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestServer } from '../harness.ts';
import { childReports } from './child-reports.ts';

export interface AppChild {
  proc: ChildProcess;
  hostId: string;
  owned: number[];
  /** Every other field the child reported, last value wins (e.g. browserWorker, chromiumPids). */
  info: Record<string, unknown>;
  exited: Promise<number | null>;
  kill9(): Promise<void>;
}

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'app-child.ts');

/** Starts test/support/app-child.ts as a real child process on the test server's database and Redis prefix. */
export async function spawnApp(s: TestServer, env: Record<string, string>): Promise<AppChild> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'takos-app-child-'));
  const proc = spawn(process.execPath, ['--import', 'tsx', SCRIPT], {
    env: { ...process.env, TAKOS_DATA_DIR: dataDir, TEST_DB_NAME: s.dbName, REDIS_PREFIX: s.config.REDIS_PREFIX, SERVICE_TOKEN_SECRET: s.config.SERVICE_TOKEN_SECRET!, ENCRYPTION_KEY: s.config.ENCRYPTION_KEY!, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  void exited.then(() => rm(dataDir, { recursive: true, force: true }));
  const child: AppChild = {
    proc,
    hostId: '',
    owned: [],
    info: {},
    exited,
    async kill9() {
      proc.kill('SIGKILL');
      await exited;
    },
  };
  await childReports<{ ready?: boolean; hostId?: string; owned?: number[] }>(proc, 'app child', (m) => {
    Object.assign(child.info, m);
    if (m.hostId) child.hostId = m.hostId;
    if (m.owned) child.owned = m.owned;
  });
  return child;
}
