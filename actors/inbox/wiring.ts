import type { ActorSystem } from '../../runtime/actors/index.ts';
import type { Kernel } from '../../runtime/kernel.ts';
import { RUN_KIND } from '../run/kind.ts';
import { reminderDelivery } from '../reminder/delivery.ts';
import { REMINDER_KIND, reminderKind } from '../reminder/kind.ts';
import { INBOX_KIND, inboxKind } from './kind.ts';
import { runNotifications } from './producers.ts';
import { INBOX_STREAM, inboxHistory, inboxStreamEvents } from './stream.ts';

/**
 * Registers the inbox and reminder kinds and their commit listeners on a process's actor system (called by the
 * composition root before start, after the run kind is registered):
 *   inbox commits     -> pushed notifications to the Redis tail + fan-out (stream `inbox`, entity = user id)
 *   run commits       -> terminal events notify the run's requester
 *   reminder commits  -> firings notify the reminder's owner
 */
export function wireNotifications(kernel: Kernel, actors: ActorSystem): void {
  actors.register(inboxKind).register(reminderKind);
  kernel.streams.hub.registerHistory(INBOX_STREAM, inboxHistory(kernel.sql));
  actors.onCommitted(INBOX_KIND, async (batch) => {
    await Promise.all(inboxStreamEvents(batch).map((s) => kernel.streams.publishCommitted(INBOX_STREAM, s.userId, s.events)));
  });
  actors.onCommitted(RUN_KIND, runNotifications(actors, kernel.log));
  actors.onCommitted(REMINDER_KIND, reminderDelivery(actors, kernel.sql, kernel.log));
}
