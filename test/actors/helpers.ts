import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, inject } from 'vitest';
import type { Config } from '../../runtime/config.ts';
import { createDb } from '../../runtime/db.ts';
import { childReports } from '../support/child-reports.ts';
import { cloneTemplateDb } from '../support/template-db.ts';
import { createLedgerTables } from './fixtures/ledger.ts';
import { testConfig } from '../support/test-config.ts';
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
  const config = testConfig(dbName, dataDir);

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

/**
 * The frame of a runtime test file: a fresh database with the ledger tables before its tests; after them, every host
 * started through `host()` closed (last first), then the database.
 */
export function ledgerSuite(): { readonly db: ActorTestDb; host(kinds: AnyActorKind[], opts?: Parameters<typeof startHost>[2]): Promise<Host> } {
  let db: ActorTestDb | undefined;
  const open: Host[] = [];
  beforeAll(async () => {
    db = await startActorTestDb();
    await createLedgerTables(db.kernel.sql);
  });
  afterAll(async () => {
    for (const h of open.reverse()) await h.close();
    await db?.close();
  });
  const started = (): ActorTestDb => {
    if (!db) throw new Error('the suite database starts in beforeAll');
    return db;
  };
  return {
    get db() {
      return started();
    },
    async host(kinds, opts = {}) {
      const h = await startHost(started(), kinds, opts);
      open.push(h);
      return h;
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
  await childReports<{ ready?: boolean; hostId?: string; owned?: number[]; stats?: KindStats }>(proc, 'actor host child', (m) => {
    if (m.hostId) child.hostId = m.hostId;
    if (m.stats) child.stats = m.stats;
    if (m.owned) child.owned = m.owned;
  });
  return child;
}
