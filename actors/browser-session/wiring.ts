import type { ActorSystem } from '../../runtime/actors/index.ts';
import type { Kernel } from '../../runtime/kernel.ts';
import { BrowserClient } from '../../workers/browser/client.ts';
import { BROWSER_SESSION_KIND, browserSessionKind } from './kind.ts';
import { LIVE, type BrowserSessionState } from './state.ts';

/**
 * Registers the browser-session kind and, after each commit that ended a session (timer, delete, failure), tells
 * the worker holding its page to close it, so the slot is freed at once rather than by the pool's idle backstop.
 * A close for a page already gone is a no-op on the worker, so repeating it is harmless.
 */
export function wireBrowserSessions(kernel: Kernel, actors: ActorSystem): BrowserClient {
  actors.register(browserSessionKind(kernel));
  const client = new BrowserClient(kernel);
  actors.onCommitted(BROWSER_SESSION_KIND, (batch) => {
    for (const a of batch.actors) {
      const s = a.state as BrowserSessionState;
      if (LIVE.has(s.status) || !s.worker_id || s.reason === 'worker_lost') continue;
      void client
        .isAlive(s.worker_id)
        .then((alive) => (alive ? client.call(s.worker_id, 'close', s.id, {}, 30_000) : null))
        .catch((err: unknown) => kernel.log.debug({ err, session: s.id }, 'closing an ended browser page failed'));
    }
  });
  return client;
}
