import type { Logger } from '../../../runtime/log.ts';
import { SESSION_ID_PATTERN } from '../../../runtime/auth/sessions.ts';
import type { AppDeps } from '../../deps.ts';

/**
 * Ends a web session: deletes the Redis record, then tells every process to drop its cached `sess:<id>` entry.
 * Deleting first means a process that misses the message still finds no record once its entry expires, and a
 * process that re-reads after the message finds nothing. Idempotent; unknown ids are ignored.
 */
export async function endWebSession(deps: AppDeps, log: Logger, id: string): Promise<boolean> {
  if (!SESSION_ID_PATTERN.test(id)) return false;
  const s = await deps.sessions.delete(id);
  try {
    await deps.invalidateAuth({ t: 'key', key: `sess:${id}` });
  } catch (err) {
    // Other processes clear their cache when their subscriber reconnects; entries expire after AUTH_CACHE_TTL_MS.
    log.error({ err }, 'could not publish session invalidation');
  }
  return s !== null;
}
