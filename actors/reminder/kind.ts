import type { Sql, TxSql } from '../../runtime/db.ts';
import { conflict, notFound } from '../../runtime/errors.ts';
import type { ActorChange, ActorKind, FiredTimer, TurnContext, TurnResult } from '../../runtime/actors/types.ts';
import type { ReminderCommand, ReminderFired, ReminderReply, ReminderRow, ReminderState } from './state.ts';

/** The reminder actor: states, transitions and the firing guarantee are described in state.ts. */
export const REMINDER_KIND = 'reminder';

/**
 * Re-sends of an unacknowledged firing, in ms after the firing (then after each re-send). The last one lands about
 * 7 h after the firing, well inside the 24 h window in which the inbox deduplicates the firing's command id.
 */
export const DELIVER_BACKOFF_MS = [10_000, 30_000, 120_000, 600_000, 3_600_000, 6 * 3_600_000];

type Result = TurnResult<ReminderState, ReminderFired, ReminderReply>;

const COLUMNS = [
  'id', 'space_id', 'user_id', 'content', 'context', 'trigger_type', 'trigger_value', 'due_at', 'status', 'triggered_at',
  'priority', 'fire_count', 'delivered_count', 'created_at', 'updated_at',
] as const;

type DbRow = Omit<ReminderRow, 'due_at' | 'triggered_at' | 'created_at' | 'updated_at'> & { due_at: Date | null; triggered_at: Date | null; created_at: Date; updated_at: Date };

export const rowFromDb = (r: DbRow): ReminderRow => ({
  ...r,
  due_at: r.due_at?.toISOString() ?? null,
  triggered_at: r.triggered_at?.toISOString() ?? null,
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
});

export async function readReminder(sql: Sql, id: string): Promise<ReminderRow | null> {
  const [r] = await sql<DbRow[]>`SELECT ${sql(COLUMNS)} FROM reminders WHERE id = ${id}`;
  return r ? rowFromDb(r) : null;
}

export const reminderKind: ActorKind<ReminderState, ReminderCommand, ReminderReply, ReminderFired> = {
  name: REMINDER_KIND,
  partitions: 64,
  persistIssuesSynchronously: true,

  async load(sql: Sql, id: string): Promise<ReminderState> {
    return { id, row: await readReminder(sql, id) };
  },

  handle(state: ReminderState, cmd: ReminderCommand, ctx: TurnContext): Result {
    const row = state.row;
    const now = ctx.now.toISOString();
    if (cmd.type === 'create') {
      if (row) throw conflict('Reminder already exists');
      const created: ReminderRow = { id: state.id, ...cmd.reminder, status: 'pending', triggered_at: null, fire_count: 0, delivered_count: 0, created_at: now, updated_at: now };
      arm(created, ctx);
      return { state: { id: state.id, row: created }, reply: created };
    }
    if (!row) {
      // A late acknowledgement for a reminder deleted meanwhile has nothing left to update.
      if (cmd.type === 'delivered') return { state, reply: { ok: true } };
      throw notFound('Reminder');
    }
    switch (cmd.type) {
      case 'update': {
        const p = cmd.patch;
        const next: ReminderRow = { ...row, updated_at: now };
        if (p.content !== undefined) next.content = p.content;
        if (p.context !== undefined) next.context = p.context;
        if (p.priority !== undefined) next.priority = p.priority;
        if (p.trigger_value !== undefined) next.trigger_value = p.trigger_value;
        if (p.due_at !== undefined) next.due_at = p.due_at;
        if (p.status !== undefined) {
          next.status = p.status;
          if (p.status === 'triggered') next.triggered_at = now;
        }
        if (p.status !== undefined || p.due_at !== undefined) arm(next, ctx);
        return { state: { id: state.id, row: next }, reply: next };
      }
      case 'delete':
        ctx.clearTimer('due');
        ctx.clearTimer('deliver');
        return { state: { id: state.id, row: null }, reply: { success: true } };
      case 'trigger':
        return fire(state, row, ctx, now);
      case 'delivered': {
        if (cmd.seq <= row.delivered_count) return { state, reply: { ok: true } };
        const next = { ...row, delivered_count: Math.min(cmd.seq, row.fire_count) };
        if (next.delivered_count >= next.fire_count) ctx.clearTimer('deliver');
        return { state: { id: state.id, row: next }, reply: { ok: true } };
      }
    }
  },

  onTimer(state: ReminderState, timer: FiredTimer, ctx: TurnContext): TurnResult<ReminderState, ReminderFired> {
    const row = state.row;
    if (!row) return { state };
    if (timer.name === 'due') {
      // A timer is cleared in the same transaction as any change that disarms it; this check only guards a row
      // changed by something other than this actor.
      if (row.status !== 'pending' || row.trigger_type !== 'time') return { state };
      return fire(state, row, ctx, ctx.now.toISOString());
    }
    if (timer.name === 'deliver' && row.delivered_count < row.fire_count) {
      const attempt = Number((timer.payload as { attempt?: number } | null)?.attempt ?? 1);
      const delay = DELIVER_BACKOFF_MS[attempt];
      if (delay !== undefined) ctx.setTimer('deliver', delay, { attempt: attempt + 1 });
      // Only the latest firing is re-sent: an older one that was never acknowledged is superseded by it.
      return { state: { ...state }, events: [{ type: 'fired', seq: row.fire_count, reminder: row }] };
    }
    return { state };
  },

  async persist(tx: TxSql, changes: ReadonlyArray<ActorChange<ReminderState, ReminderFired>>): Promise<unknown> {
    const work: Promise<unknown>[] = [];
    for (const c of changes) {
      const before = c.previous.row;
      const r = c.state.row;
      if (r && !before) work.push(tx`INSERT INTO reminders ${tx(r, ...COLUMNS)}`);
      else if (r) {
        work.push(tx`
          UPDATE reminders SET content = ${r.content}, context = ${r.context}, trigger_value = ${r.trigger_value}, due_at = ${r.due_at},
            status = ${r.status}, triggered_at = ${r.triggered_at}, priority = ${r.priority}, fire_count = ${r.fire_count},
            delivered_count = ${r.delivered_count}, updated_at = ${r.updated_at}
          WHERE id = ${r.id}`);
      } else if (before) work.push(tx`DELETE FROM reminders WHERE id = ${c.id}`);
    }
    return Promise.all(work);
  },
};

function arm(row: ReminderRow, ctx: TurnContext): void {
  if (row.status === 'pending' && row.trigger_type === 'time' && row.due_at) ctx.setTimer('due', new Date(row.due_at));
  else ctx.clearTimer('due');
}

function fire(state: ReminderState, row: ReminderRow, ctx: TurnContext, now: string): Result {
  const next: ReminderRow = { ...row, status: 'triggered', triggered_at: now, updated_at: now, fire_count: row.fire_count + 1 };
  ctx.clearTimer('due');
  ctx.setTimer('deliver', DELIVER_BACKOFF_MS[0]!, { attempt: 1 });
  return { state: { id: state.id, row: next }, events: [{ type: 'fired', seq: next.fire_count, reminder: next }], reply: next };
}
