import path from 'node:path';
import type { Config } from '../../runtime/config.ts';
import type { BrowserPoolOptions } from './pool.ts';

/** Pool options from the process configuration (runtime/config.ts, BROWSER_* and CHROMIUM_PATH). */
export function poolOptionsFromConfig(c: Config): BrowserPoolOptions {
  return {
    ...(c.BROWSER_MAX_SESSIONS !== undefined ? { maxSessions: c.BROWSER_MAX_SESSIONS } : {}),
    ...(c.BROWSER_QUEUE_MAX !== undefined ? { queueMax: c.BROWSER_QUEUE_MAX } : {}),
    queueTimeoutMs: c.BROWSER_QUEUE_TIMEOUT_MS,
    allowLoopback: c.BROWSER_ALLOW_LOOPBACK,
    ...(c.CHROMIUM_PATH ? { executablePath: c.CHROMIUM_PATH } : {}),
    // User-data-dirs under the data folder: one place to look for leftovers, and the reaper's marker root.
    dataRoot: path.join(c.dataDir, 'browser'),
  };
}
