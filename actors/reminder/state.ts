/**
 * The reminder actor (kind `reminder`, id = reminder id): the single writer of a reminder after it is created, and
 * the owner of its durable timers. The original had no scheduler at all (workspace spec 7); this one fires.
 *
 *   create ------------------------------------> pending (time reminders arm timer `due` at due_at)
 *   pending  --timer `due` (at or after due_at)--> triggered   triggered_at, one firing (notification)
 *   any      --trigger (POST .../trigger)--------> triggered   triggered_at, one firing, timer `due` cleared
 *   any      --PATCH status---------------------> that status (triggered stamps triggered_at, no firing);
 *                                                  pending re-arms `due` (a due_at in the past fires at once),
 *                                                  any other status clears it
 *   any      --PATCH trigger_value (time)-------> due_at moves; re-armed if pending
 *   any      --delete---------------------------> gone, timers cleared
 *
 * `condition` and `context` reminders have nothing to evaluate them (as in the original): they fire only through
 * `trigger`. There is no recurrence (the spec has none), so a reminder fires at most once per arming.
 *
 * Firing is exactly once per arming, however long every process was down: the timer row is deleted in the same
 * transaction as the `triggered` status, and it fires at the first poll after the owner comes back (never before
 * due_at on the Postgres clock). Each firing n produces the owner's notification through the inbox actor with
 * command id `reminder:<id>:<n>`; until the inbox acknowledged it (`delivered`), timer `deliver` re-sends it with
 * backoff, so a crash between the firing's commit and the inbox turn loses nothing and duplicates nothing.
 */
export type ReminderStatus = 'pending' | 'triggered' | 'completed' | 'dismissed';
export type TriggerType = 'time' | 'condition' | 'context';
export type Priority = 'low' | 'normal' | 'high' | 'critical';

export interface ReminderRow {
  id: string;
  space_id: string;
  user_id: string;
  content: string;
  context: string | null;
  trigger_type: TriggerType;
  trigger_value: string | null;
  due_at: string | null;
  status: ReminderStatus;
  triggered_at: string | null;
  priority: Priority;
  fire_count: number;
  delivered_count: number;
  created_at: string;
  updated_at: string;
}

export interface ReminderState {
  id: string;
  row: ReminderRow | null;
}

export type ReminderCreate = Pick<ReminderRow, 'space_id' | 'user_id' | 'content' | 'context' | 'trigger_type' | 'trigger_value' | 'due_at' | 'priority'>;

export interface ReminderPatch {
  content?: string;
  context?: string | null;
  trigger_value?: string | null;
  /** Set with trigger_value for time reminders (the route parses it). */
  due_at?: string | null;
  status?: ReminderStatus;
  priority?: Priority;
}

export type ReminderCommand =
  | { type: 'create'; reminder: ReminderCreate }
  | { type: 'update'; patch: ReminderPatch }
  | { type: 'delete' }
  | { type: 'trigger' }
  | { type: 'delivered'; seq: number };

export interface ReminderFired {
  type: 'fired';
  seq: number;
  reminder: ReminderRow;
}

export type ReminderReply = ReminderRow | { success: true } | { ok: true };
