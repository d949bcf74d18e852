import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../runtime/config.ts';
import { createDb } from '../../runtime/db.ts';
import { cloneTemplateDb } from '../support/template-db.ts';
import { createKernel, type Kernel } from '../../runtime/kernel.ts';
import { createLogger } from '../../runtime/log.ts';
import { ActorSystem, type ActorSystemOptions, type AnyActorKind, type KindStats } from '../../runtime/actors/index.ts';

/**
 * A database cloned from the migrated template and a Redis prefix of its own, with one kernel on them: what the
 * actor runtime needs, without the HTTP application (test/harness.ts composes every route family and actor kind of
 * the product; these tests exercise the runtime alone, with their own test kinds).
 */
export interface ActorTestDb {
  kernel: Kernel;
  config: Config;
  dbName: string;
  close(): Promise<void>;
}

let dbs = 0;

export async function startActorTestDb(): Promise<ActorTestDb> {
  const dbName = `ta_${process.pid}_${++dbs}_${randomBytes(3).toString('hex')}`;
  const admin = createDb({ url: process.env.DATABASE_URL!, max: 1 });
  await cloneTemplateDb(admin, dbName, inject('templateDb'));
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'takos-actors-'));
  const config = loadConfig({
    ...process.env,
    ENVIRONMENT: 'test',
    PORT: '0',
    TAKOS_DATA_DIR: dataDir,
    REDIS_PREFIX: `${dbName}:`,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    SERVICE_TOKEN_SECRET: randomBytes(32).toString('hex'),
    PG_POOL_MAX: '10',
  });
  const kernel = await createKernel(config, { log: createLogger(config.LOG_LEVEL), database: dbName });
  return {
    kernel,
    config,
    dbName,
    async close() {
      await kernel.close();
      await admin.unsafe(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => undefined);
      await admin.end();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `cond` until it holds (no blind sleeps); fails with `what` after the deadline. */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Fast leases for tests: a dead owner's partitions move within ~1.3 s. */
export const FAST: ActorSystemOptions = { leaseTtlMs: 1_000, renewEveryMs: 250, timerPollMs: 50 };

export interface Host {
  kernel: Kernel;
  system: ActorSystem;
  close(): Promise<void>;
}

/**
 * Another process-like actor host on the test server's database and Redis prefix: its own kernel (pools, Redis
 * connections), its own ActorSystem.
 */
export async function startHost(s: ActorTestDb, kinds: AnyActorKind[], opts: ActorSystemOptions = {}): Promise<Host> {
  const kernel = await createKernel(s.config, { log: createLogger(s.config.LOG_LEVEL), database: s.dbName });
  const system = new ActorSystem(kernel, { ...FAST, ...opts });
  for (const k of kinds) system.register(k);
  await system.start().catch(async (err: unknown) => {
    await kernel.close();
    throw err;
  });
  let closed = false;
  return {
    kernel,
    system,
    async close() {
      if (closed) return;
      closed = true;
      await system.stop();
      await kernel.close();
    },
  };
}

export interface Child {
  proc: ChildProcess;
  hostId: string;
  /** Latest owned partitions the child reported. */
  owned: number[];
  /** Its final stats, reported when it is stopped with SIGTERM. */
  stats: KindStats | null;
  /** Everything it wrote to stderr (also forwarded to ours). */
  stderr: string;
  exited: Promise<number | null>;
}

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'host-child.ts');

/** A real child process (node --import tsx) hosting the ledger kind on the same database and Redis prefix. */
export async function spawnHost(s: ActorTestDb, env: Record<string, string> = {}): Promise<Child> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'takos-actor-child-'));
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    env: {
      ...process.env,
      TAKOS_DATA_DIR: dataDir,
      TEST_DB_NAME: s.dbName,
      REDIS_PREFIX: s.config.REDIS_PREFIX,
      SERVICE_TOKEN_SECRET: randomBytes(32).toString('hex'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const child: Child = {
    proc,
    hostId: '',
    owned: [],
    stats: null,
    stderr: '',
    exited: new Promise((resolve) => proc.once('exit', (code) => resolve(code))),
  };
  void child.exited.then(() => rm(dataDir, { recursive: true, force: true }));
  proc.stderr!.on('data', (d: Buffer) => {
    child.stderr += d.toString();
    process.stderr.write(d);
  });
  let buf = '';
  await new Promise<void>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`actor host child exited early (${code})`)));
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const m = JSON.parse(line) as { ready?: boolean; hostId?: string; owned?: number[]; stats?: KindStats };
          if (m.hostId) child.hostId = m.hostId;
          if (m.stats) child.stats = m.stats;
          if (m.owned) child.owned = m.owned;
          if (m.ready) resolve();
        } catch {
          /* not ours */
        }
      }
    });
  });
  return child;
}
