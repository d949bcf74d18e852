import { inject } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Config } from '../runtime/config.ts';
import { createDb } from '../runtime/db.ts';
import { cloneTemplateDb } from './support/template-db.ts';
import { testConfig } from './support/test-config.ts';
import { createKernel, type Kernel } from '../runtime/kernel.ts';
import { createLogger } from '../runtime/log.ts';
import { buildApp } from '../http/app.ts';
import { composeApp } from '../compose.ts';
import type { AppDeps } from '../http/deps.ts';
import type { ActorSystemOptions } from '../runtime/actors/index.ts';
import { startRunsWorker } from '../workers/runs/worker.ts';
import { startBrowserKind } from '../workers/browser/kind.ts';
import type { BrowserPoolOptions } from '../workers/browser/pool.ts';
import { createPat, createUser } from '../runtime/identity/users.ts';

/**
 * A real server for one test file: its own database cloned from the migrated template, its own Redis key prefix,
 * listening on a random port. Nothing is mocked; requests go over HTTP with fetch.
 */
export interface TestServer {
  url: string;
  kernel: Kernel;
  /** The composed application (kernel + actor system + queues), as handlers see it in `c.deps`. */
  deps: AppDeps;
  config: Config;
  dbName: string;
  /** A server admin, created directly in the database (as `npm start` does). */
  admin: TestUser;
  /** Creates a user through the admin API and returns it with a PAT. */
  user(username?: string, opts?: { email?: string; name?: string }): Promise<TestUser>;
  request(method: string, path: string, opts?: RequestOpts): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface TestUser {
  id: string;
  username: string;
  email: string | null;
  token: string;
}

export interface RequestOpts {
  token?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
  /** Send `body` as is (string/Buffer) instead of JSON. */
  raw?: boolean;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  // Response bodies are whatever the server said; tests assert on their shape.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
}

let counter = 0;

export interface StartOpts {
  /** Environment overrides for this server's config. */
  env?: Partial<Record<string, string>>;
  /**
   * Start a second process-like server on the same database and Redis prefix as `attachTo` (its own kernel, pools,
   * auth cache and port), to test what must hold across processes. Closing it leaves the database in place.
   */
  attachTo?: TestServer;
  /** Worker kinds to run in this process next to the server (e.g. ['runs']). */
  workers?: Array<'runs' | 'browser'>;
  /** Pool options for a 'browser' worker (tests fix the load reading and the data root). */
  browserPool?: BrowserPoolOptions;
  /** Environment for the workers (model provider settings). */
  workerEnv?: Record<string, string | undefined>;
  /** Actor timings for tests that wait for takeovers. */
  actors?: ActorSystemOptions;
}

export async function startTestServer(opts: StartOpts = {}): Promise<TestServer> {
  const overrides = opts.env ?? {};
  const template = inject('templateDb');
  const attached = opts.attachTo;
  const dbName = attached ? attached.dbName : `t_${process.pid}_${++counter}_${randomBytes(3).toString('hex')}`;
  const adminSql = createDb({ url: process.env.DATABASE_URL!, max: 1 });
  if (!attached) await cloneTemplateDb(adminSql, dbName, template);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'takos-test-'));
  const config = testConfig(dbName, dataDir, { ...(attached ? { SERVICE_TOKEN_SECRET: attached.config.SERVICE_TOKEN_SECRET!, ENCRYPTION_KEY: attached.config.ENCRYPTION_KEY! } : {}), ...overrides });

  const kernel = await createKernel(config, { log: createLogger(config.LOG_LEVEL), database: dbName });
  const app = await composeApp(kernel, { hosting: true, ...(opts.actors ? { actors: opts.actors } : {}) });
  const { server } = buildApp(app.deps);
  const workers: Array<{ close(): Promise<unknown> }> = await Promise.all(
    (opts.workers ?? []).map((k) =>
      k === 'browser'
        ? startBrowserKind(app.deps, opts.browserPool)
        : startRunsWorker(app.deps, { env: { TAKOS_DEMO_DELAY_MS: '0', ...opts.workerEnv }, staleAfterMs: 3_000, heartbeatMs: 500 }),
    ),
  );
  const port = await server.listen('127.0.0.1', 0);
  const url = `http://127.0.0.1:${port}`;

  let admin: TestUser;
  if (attached) admin = attached.admin;
  else {
    const a = await createUser(kernel.sql, { username: 'admin', email: 'admin@example.test', name: 'Admin', isServerAdmin: true });
    const adminPat = await createPat(kernel.sql, a.id, 'test admin');
    admin = { id: a.id, username: a.slug, email: a.email, token: adminPat.token };
  }

  const request = async (method: string, p: string, opts: RequestOpts = {}): Promise<TestResponse> => {
    const headers: Record<string, string> = { ...opts.headers };
    const token = opts.token === undefined ? admin.token : opts.token;
    if (token) headers['authorization'] ??= `Bearer ${token}`;
    let body: string | Buffer | undefined;
    if (opts.body !== undefined) {
      if (opts.raw) body = opts.body as string | Buffer;
      else {
        body = JSON.stringify(opts.body);
        headers['content-type'] ??= 'application/json';
      }
    }
    const res = await fetch(url + p, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  };

  let users = 0;
  return {
    url,
    kernel,
    deps: app.deps,
    config,
    dbName,
    admin,
    request,
    async user(username?: string, opts: { email?: string; name?: string } = {}) {
      const name = username ?? `user${++users}${randomBytes(2).toString('hex')}`;
      const email = opts.email ?? `${name}@example.test`;
      const r = await request('POST', '/api/admin/users', { body: { username: name, email, ...(opts.name ? { name: opts.name } : {}) } });
      if (r.status !== 201) throw new Error(`creating user ${name} failed: ${r.status} ${r.text}`);
      return { id: r.body.user.id, username: r.body.user.username, email, token: r.body.token };
    },
    async close() {
      await server.close(1000);
      await Promise.all(workers.map((w) => w.close()));
      await app.stop();
      await kernel.close();
      if (!attached) await adminSql.unsafe(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => {});
      await adminSql.end();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
