import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../../runtime/config.ts';

/**
 * The configuration of an in-process test server or kernel: its own database and Redis prefix (named after the
 * database), its own data folder, silent logs unless TEST_LOG_LEVEL says otherwise, a small pool.
 */
export function testConfig(dbName: string, dataDir: string, overrides: Record<string, string | undefined> = {}): Config {
  return loadConfig({
    ...process.env,
    ENVIRONMENT: 'test',
    PORT: '0',
    TAKOS_DATA_DIR: dataDir,
    REDIS_PREFIX: `${dbName}:`,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    SERVICE_TOKEN_SECRET: randomBytes(32).toString('hex'),
    ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    PG_POOL_MAX: '10',
    ...overrides,
  });
}
