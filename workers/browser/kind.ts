import type { AppDeps } from '../../http/deps.ts';
import { poolOptionsFromConfig } from './config.ts';
import { startBrowserWorker, type BrowserWorkerHandle } from './host.ts';
import { BrowserPool, type BrowserPoolOptions } from './pool.ts';
import { BROWSER_SESSION_KIND } from '../../actors/browser-session/kind.ts';

/** The `browser` worker kind (worker.ts, Procfile `worker_browser`): a pool from BROWSER_* config, served over Redis. */
export async function startBrowserKind(deps: AppDeps, overrides: BrowserPoolOptions = {}): Promise<BrowserWorkerHandle> {
  const log = deps.log;
  const pool = new BrowserPool({
    ...poolOptionsFromConfig(deps.config),
    // The actor owns idle timeouts; the pool's own sweep is only a backstop for pages whose actor never closed them.
    idleTimeoutMs: deps.config.BROWSER_IDLE_TIMEOUT_MS * 2,
    log: (level, msg, extra) => log[level](extra ?? {}, msg),
    ...overrides,
  });
  return startBrowserWorker(deps, pool, {
    onSessionFailed: (id, reason, message) => deps.actors.send(BROWSER_SESSION_KIND, id, { type: 'fail', reason, message }, { commandId: `browser-fail:${id}` }),
  });
}
