import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from './config.ts';
import { createDb, type Sql } from './db.ts';
import { createLogger, type Logger } from './log.ts';
import { createRedis, type RedisConns } from './redis.ts';
import { redisKeys, type RedisKeys } from './keys.ts';
import { AuthCache, connectAuthCache, type Invalidation } from './auth/cache.ts';
import { SessionStore } from './auth/sessions.ts';
import { ServiceTokens } from './auth/service-token.ts';
import { PatToucher } from './auth/touch.ts';
import { Gauge, Registry } from './metrics.ts';
import { StreamHub } from './streams/hub.ts';
import { EventTail } from './streams/tail.ts';
import type { StreamEvent } from './streams/types.ts';
import { EnvCipher } from './secrets/env-cipher.ts';

/**
 * Everything a process shares between its parts, created once and passed down explicitly (no module singletons),
 * so a test can build as many independent kernels as it likes, each on its own database and Redis prefix.
 */
export interface Kernel {
  config: Config;
  log: Logger;
  sql: Sql;
  redis: RedisConns;
  keys: RedisKeys;
  metrics: Registry;
  authCache: AuthCache;
  /** Drops cached credentials on every process (locally at once). */
  invalidateAuth(inv: Invalidation): Promise<void>;
  /** Resolves once every auth invalidation published before the call has reached this process (auth/cache.ts). */
  authBarrier(): Promise<void>;
  sessions: SessionStore;
  serviceTokens: ServiceTokens;
  /** Encrypts and decrypts spaces' environment values (runtime/secrets/env-cipher.ts). */
  envCipher: EnvCipher;
  patToucher: PatToucher;
  /** Entity event streams: the Redis tail (append after commit, resume reads) and this process's live fan-out hub. */
  streams: { tail: EventTail; hub: StreamHub; publishCommitted: (kind: string, id: string, events: StreamEvent[]) => Promise<number> };
  /** Closes pools in dependency order; flushes batched writes first. */
  close(): Promise<void>;
}

export async function createKernel(config: Config, opts: { log?: Logger; database?: string } = {}): Promise<Kernel> {
  const log = opts.log ?? createLogger(config.LOG_LEVEL);
  const sql = createDb({ url: config.DATABASE_URL, max: config.PG_POOL_MAX, ...(opts.database ? { database: opts.database } : {}) });
  const redis = createRedis(config.REDIS_URL, config.REDIS_PREFIX);
  redis.cmd.on('error', (err) => log.warn({ err }, 'redis command connection error'));
  redis.sub.on('error', (err) => log.warn({ err }, 'redis subscriber connection error'));
  const keys = redisKeys(config.REDIS_PREFIX);
  const metrics = new Registry();
  const authCache = new AuthCache(config.AUTH_CACHE_TTL_MS);
  const bus = connectAuthCache(authCache, redis.sub, redis.cmd, keys.authInvalidate);
  await bus.subscribed;
  const patToucher = new PatToucher(sql, config.PAT_TOUCH_FLUSH_MS, (err) => log.warn({ err }, 'PAT last_used_at flush failed'));
  patToucher.start();
  const secret = config.SERVICE_TOKEN_SECRET ?? (await loadOrCreateSecret(config.dataDir, 'service-token-secret', log));
  const encryptionKey = config.ENCRYPTION_KEY ?? (await loadOrCreateSecret(config.dataDir, 'encryption-key', log));

  metrics.register(new Gauge('takos_pg_pool_max', 'postgres.js pool size of this process', () => config.PG_POOL_MAX));
  metrics.register(new Gauge('takos_auth_cache_entries', 'credentials cached by this process', () => authCache.size));
  metrics.register(
    new Gauge('takos_redis_connection_up', 'Redis connections of this process that are ready', () => [
      [{ conn: 'cmd' }, redis.cmd.status === 'ready' ? 1 : 0],
      [{ conn: 'sub' }, redis.sub.status === 'ready' ? 1 : 0],
    ]),
  );

  const tail = new EventTail(redis.cmd, keys);
  const hub = new StreamHub(redis.sub, keys, log);
  return {
    config,
    log,
    sql,
    redis,
    keys,
    metrics,
    authCache,
    invalidateAuth: (inv) => bus.publish(inv),
    authBarrier: () => bus.barrier(),
    sessions: new SessionStore(redis.cmd, keys),
    serviceTokens: new ServiceTokens(secret),
    envCipher: new EnvCipher(encryptionKey),
    patToucher,
    streams: {
      tail,
      hub,
      // After a commit: this process's subscribers at once, then the Redis tail and the other processes (PUBLISH).
      publishCommitted(kind, id, events) {
        hub.deliverCommitted(kind, id, events);
        return tail.append(kind, id, events);
      },
    },
    async close() {
      await patToucher.stop().catch((err) => log.warn({ err }, 'final PAT flush failed'));
      await redis.close();
      await sql.end({ timeout: 5 });
    },
  };
}

/** Without a configured secret, one is generated on first start and kept in the data folder (shared by the processes of one install). */
async function loadOrCreateSecret(dataDir: string, name: string, log: Logger): Promise<string> {
  const file = path.join(dataDir, name);
  try {
    const s = (await readFile(file, 'utf8')).trim();
    if (s.length >= 32) return s;
  } catch {
    /* first start */
  }
  const s = randomBytes(32).toString('base64url');
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, s, { mode: 0o600, flag: 'wx' }).catch(async () => undefined);
  log.info({ file }, `generated ${name.replaceAll('-', ' ')}`);
  return (await readFile(file, 'utf8')).trim();
}
