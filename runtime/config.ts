import { z } from 'zod';
import path from 'node:path';

/**
 * Process configuration, read once from the environment and validated here so that a bad value stops the process at
 * start-up with a clear message rather than failing on the first request that needs it.
 */
const bool = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', ''])
  .transform((v) => v === '1' || v === 'true' || v === 'yes');

const ConfigSchema = z.object({
  ENVIRONMENT: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  PUBLIC_URL: z.string().url().optional(),
  TAKOS_DATA_DIR: z.string().default('./.data'),
  DATABASE_URL: z.string().min(1),
  REDIS_URL: z.string().min(1),
  /** Every Redis key and channel this process touches starts with this, so several deployments (or test files) can share one Redis. */
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_:.-]*$/).default('takos:'),
  /**
   * postgres.js connections per process. In-flight queries above this decay throughput (perf/ceilings.md: 23k -> 9k/s
   * in 20 s), so the HTTP front admits at most this many database-using handlers at once.
   */
  PG_POOL_MAX: z.coerce.number().int().min(1).max(500).default(32),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Comma-separated extra origins allowed by CORS; localhost origins and PUBLIC_URL's origin are always allowed. */
  CORS_ORIGINS: z.string().default(''),
  /** Secret for HMAC-signed internal service tokens (replaces the original's forgeable X-Takos-Internal header). */
  SERVICE_TOKEN_SECRET: z.string().min(32).optional(),
  /**
   * Key that encrypts spaces' environment values at rest (64 hex digits, or any string of 32+ bytes). Generated into
   * the data folder on first start when not set; processes that do not share that folder must all be given it.
   */
  ENCRYPTION_KEY: z.string().min(32).optional(),
  /** Honour X-Forwarded-For / X-Forwarded-Proto from a reverse proxy. */
  TRUST_PROXY: bool.default(false),
  /** How long a validated PAT stays in the per-process auth cache; deletions invalidate at once through Redis. */
  AUTH_CACHE_TTL_MS: z.coerce.number().int().min(0).default(60_000),
  /** How often batched PAT last_used_at writes are flushed. */
  PAT_TOUCH_FLUSH_MS: z.coerce.number().int().min(10).default(5_000),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
  /**
   * Comma-separated absolute folders under which projects may register Git repositories (default:
   * `$TAKOS_DATA_DIR/projects` only), so that a project cannot become a way to read or write any folder of the server.
   */
  TAKOS_PROJECT_ROOTS: z.string().optional(),
  /**
   * Keep git's commit-graph file current in project repositories (the file `git gc` writes; runtime/tasks/commit-graph.ts),
   * so the task board's ancestry checks stay cheap on long histories. Off: the server writes nothing under .git/objects
   * except the objects of task runs' own commits.
   */
  TAKOS_COMMIT_GRAPH: bool.default(true),
  /** Task runs executed at once per process (git and the model dominate; two keep a 2-core box responsive). */
  TAKOS_TASK_RUN_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  /** How often a process refreshes the heartbeat of its task runs and notices runs cancelled on another process. */
  TAKOS_TASK_RUN_HEARTBEAT_MS: z.coerce.number().int().min(50).max(10_000).default(5_000),
  /** Browser worker pool (workers/browser): most sessions per worker; unset = sized to the machine (capacity.ts). */
  BROWSER_MAX_SESSIONS: z.coerce.number().int().min(1).max(1024).optional(),
  BROWSER_QUEUE_MAX: z.coerce.number().int().min(0).optional(),
  BROWSER_QUEUE_TIMEOUT_MS: z.coerce.number().int().min(0).default(30_000),
  /** Let pages reach 127.0.0.0/8 and ::1. For tests and local development only; every other internal range stays blocked. */
  BROWSER_ALLOW_LOOPBACK: bool.default(false),
  /** Browser sessions (actors/browser-session): closed after this long without a call (spec: 15 min). */
  BROWSER_IDLE_TIMEOUT_MS: z.coerce.number().int().min(100).default(900_000),
  /** Longest a browser session may live however busy it is. */
  BROWSER_MAX_LIFETIME_MS: z.coerce.number().int().min(1_000).default(4 * 3_600_000),
  /** A browser worker whose heartbeat key is older than this is dead; its sessions are marked failed. */
  BROWSER_HEARTBEAT_TTL_MS: z.coerce.number().int().min(300).max(600_000).default(10_000),
  /** Optional Chromium binary; default /usr/lib/chromium/chromium or /usr/bin/chromium. */
  CHROMIUM_PATH: z.string().optional(),
  /** Runtime sessions (spec 5.3): a running session without a heartbeat for this long is declared dead. */
  TAKOS_SESSION_HEARTBEAT_TIMEOUT_MS: z.coerce.number().int().min(100).max(86_400_000).default(120_000),
  /** Grace after a session starts (or resumes) before the heartbeat timeout applies. */
  TAKOS_SESSION_START_GRACE_MS: z.coerce.number().int().min(0).max(86_400_000).default(30_000),
  /** Maximum age of a session; past it a running session is declared dead and a stopped one cannot resume. */
  TAKOS_SESSION_MAX_AGE_MS: z.coerce.number().int().min(1_000).default(86_400_000),
  /** Heartbeat interval the start response advises the session runtime to use. */
  TAKOS_SESSION_HEARTBEAT_INTERVAL_MS: z.coerce.number().int().min(50).default(30_000),
  /** Longest a working copy may take to build or commit before the session is failed / no longer busy. */
  TAKOS_SESSION_OP_TIMEOUT_MS: z.coerce.number().int().min(1_000).default(300_000),
});

export type Config = z.infer<typeof ConfigSchema> & { dataDir: string; publicUrl: string; projectRoots: string[] };

export function loadConfig(env: Record<string, string | undefined> = process.env, overrides: Partial<Config> = {}): Config {
  const parsed = ConfigSchema.safeParse({ ...env, ...overrides });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`Invalid configuration:\n${lines}`);
  }
  const c = parsed.data;
  const dataDir = path.resolve(c.TAKOS_DATA_DIR);
  const publicUrl = (c.PUBLIC_URL ?? `http://localhost:${c.PORT}`).replace(/\/$/, '');
  const projectRoots = parseProjectRoots(c.TAKOS_PROJECT_ROOTS, dataDir);
  return { ...c, ...overrides, dataDir, publicUrl, projectRoots: overrides.projectRoots ?? projectRoots };
}

function parseProjectRoots(raw: string | undefined, dataDir: string): string[] {
  const entries = (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (entries.length === 0) return [path.join(dataDir, 'projects')];
  const relative = entries.filter((e) => !path.isAbsolute(e));
  if (relative.length) throw new Error(`Invalid configuration:\n  TAKOS_PROJECT_ROOTS: entries must be absolute paths (${relative.join(', ')})`);
  return entries.map((e) => path.resolve(e));
}
