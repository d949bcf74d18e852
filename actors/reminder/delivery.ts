import type { ActorSystem, CommitListener } from '../../runtime/actors/index.ts';
import type { Sql } from '../../runtime/db.ts';
import type { Logger } from '../../runtime/log.ts';
import { inboxKind } from '../inbox/kind.ts';
import { reminderKind } from './kind.ts';
import type { ReminderFired } from './state.ts';

/**
 * Commit listener for the `reminder` kind: each firing becomes a `reminder.triggered` notification for the
 * reminder's owner, sent to the inbox with command id `reminder:<id>:<firing>` (so a re-send is applied once), then
 * acknowledged to the reminder actor, which stops its `deliver` retry timer.
 *
 * Not awaited by the listener (it would hold the reminder's replies for an inbox round trip); a delivery cut short
 * by a crash or a stop is re-sent by that timer.
 *
 * An owner who is no longer a member of the reminder's space is not notified (the firing still counts as
 * delivered): the content belongs to the space.
 */
export function reminderDelivery(actors: ActorSystem, sql: Sql, log: Logger): CommitListener {
  return (batch) => {
    for (const a of batch.actors) for (const e of a.events as ReminderFired[]) void deliver(actors, sql, log, e);
  };
}

async function deliver(actors: ActorSystem, sql: Sql, log: Logger, e: ReminderFired): Promise<void> {
  const r = e.reminder;
  try {
    const [member] = await sql`
      SELECT 1 FROM reminders x
      JOIN account_memberships m ON m.account_id = x.space_id AND m.member_id = x.user_id AND m.status = 'active'
      WHERE x.id = ${r.id}`;
    if (member) {
      await actors.send(
        inboxKind,
        r.user_id,
        {
          type: 'notify',
          notification: {
            type: 'reminder.triggered',
            space_id: r.space_id,
            title: r.content.length > 200 ? `${r.content.slice(0, 199)}…` : r.content,
            body: r.context,
            data: { reminder_id: r.id, space_id: r.space_id, priority: r.priority, trigger_type: r.trigger_type, trigger_value: r.trigger_value, firing: e.seq },
          },
        },
        { commandId: `reminder:${r.id}:${e.seq}` },
      );
    }
    await actors.tell(reminderKind, r.id, { type: 'delivered', seq: e.seq });
  } catch (err) {
    log.warn({ err, reminder_id: r.id, firing: e.seq }, 'reminder notification not delivered yet; the deliver timer retries');
  }
}
