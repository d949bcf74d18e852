import type { Sql, TxSql } from '../../runtime/db.ts';
import { badRequest, notFound } from '../../runtime/errors.ts';
import { newNotificationId } from '../../runtime/ids.ts';
import type { ActorChange, ActorKind, TurnContext, TurnResult } from '../../runtime/actors/types.ts';
import { effectivePrefs, isNotificationType, MAX_DATA_CHARS, prefKey, type PreferenceOverrides } from './catalog.ts';
import type { InboxCommand, InboxEvent, InboxReply, InboxState, NotificationInput, NotificationRow } from './state.ts';

/** The inbox actor: delivery rules and invariants are described in state.ts. */
export const INBOX_KIND = 'inbox';
const MAX_TITLE = 500;
const MAX_BODY = 10_000;

type Result = TurnResult<InboxState, InboxEvent, InboxReply>;

export const inboxKind: ActorKind<InboxState, InboxCommand, InboxReply, InboxEvent> = {
  name: INBOX_KIND,
  partitions: 64,
  persistIssuesSynchronously: true,

  async load(sql: Sql, userId: string): Promise<InboxState> {
    const [r] = await sql<Array<{ last_stream_id: number | null; last_created_at: Date | null; muted_until: Date | null; prefs: Array<[string, string, boolean]> }>>`
      SELECT i.last_stream_id, i.last_created_at, i.muted_until,
             COALESCE((SELECT json_agg(json_build_array(p.type, p.channel, p.enabled)) FROM notification_preferences p WHERE p.user_id = a.id), '[]'::json) AS prefs
      FROM accounts a LEFT JOIN notification_inboxes i ON i.user_id = a.id
      WHERE a.id = ${userId} AND a.type = 'user'`;
    if (!r) return { userId, exists: false, lastStreamId: 0, lastCreatedAtMs: 0, mutedUntil: null, prefs: {} };
    const prefs: PreferenceOverrides = {};
    for (const [type, channel, enabled] of r.prefs) prefs[prefKey(type, channel)] = enabled;
    return {
      userId,
      exists: true,
      lastStreamId: r.last_stream_id ?? 0,
      lastCreatedAtMs: r.last_created_at?.getTime() ?? 0,
      mutedUntil: r.muted_until?.toISOString() ?? null,
      prefs,
    };
  },

  handle(state: InboxState, cmd: InboxCommand, ctx: TurnContext): Result {
    if (!state.exists) {
      // A producer naming a user that is gone is answered, not failed: there is nobody to notify.
      if (cmd.type === 'notify') return { state, reply: { stored: false, reason: 'no such user' } };
      throw notFound('User');
    }
    switch (cmd.type) {
      case 'notify':
        return notify(state, cmd.notification, ctx);
      case 'set_preferences': {
        const prefs = { ...state.prefs };
        for (const u of cmd.updates) prefs[prefKey(u.type, u.channel)] = u.enabled;
        return { state: { ...state, prefs }, events: [{ type: 'preferences', updates: cmd.updates }], reply: { preferences: prefs } };
      }
      case 'set_settings': {
        const mutedUntil = cmd.muted_until === null ? null : new Date(cmd.muted_until).toISOString();
        return { state: { ...state, mutedUntil }, events: [], reply: { muted_until: mutedUntil } };
      }
    }
  },

  async persist(tx: TxSql, changes: ReadonlyArray<ActorChange<InboxState, InboxEvent>>): Promise<unknown> {
    const live = changes.filter((c) => c.state.exists);
    if (live.length === 0) return null;
    const work: Promise<unknown>[] = [
      tx`
        INSERT INTO notification_inboxes (user_id, last_stream_id, last_created_at, muted_until)
        SELECT * FROM unnest(${live.map((c) => c.id)}::text[], ${live.map((c) => c.state.lastStreamId)}::int[],
                             ${live.map((c) => (c.state.lastCreatedAtMs ? new Date(c.state.lastCreatedAtMs).toISOString() : null))}::text[]::timestamptz[],
                             ${live.map((c) => c.state.mutedUntil)}::text[]::timestamptz[])
        ON CONFLICT (user_id) DO UPDATE SET last_stream_id = EXCLUDED.last_stream_id, last_created_at = EXCLUDED.last_created_at,
          muted_until = EXCLUDED.muted_until, updated_at = now()`,
    ];
    const rows: NotificationRow[] = [];
    // Last update per (user, type, channel) wins: one upsert may not touch a row twice.
    const prefs = new Map<string, { user_id: string; type: string; channel: string; enabled: boolean }>();
    for (const c of live) {
      for (const e of c.events) {
        if (e.type === 'notification') rows.push(e.row);
        else for (const u of e.updates) prefs.set(`${c.id}|${prefKey(u.type, u.channel)}`, { user_id: c.id, type: u.type, channel: u.channel, enabled: u.enabled });
      }
    }
    if (rows.length > 0) {
      work.push(tx`INSERT INTO notifications ${tx(rows.map((r) => ({ ...r, data: tx.json(r.data as Parameters<typeof tx.json>[0]) })))}`);
    }
    if (prefs.size > 0) {
      work.push(tx`
        INSERT INTO notification_preferences ${tx([...prefs.values()])}
        ON CONFLICT (user_id, type, channel) DO UPDATE SET enabled = EXCLUDED.enabled`);
    }
    return Promise.all(work);
  },
};

function notify(state: InboxState, n: NotificationInput, ctx: TurnContext): Result {
  if (!isNotificationType(n.type)) throw badRequest(`Invalid type: ${String(n.type)}`);
  const prefs = effectivePrefs(state.prefs, n.type);
  if (!prefs.in_app && !prefs.push) return { state, reply: { stored: false, reason: 'disabled by preferences' } };
  const now = ctx.now.getTime();
  const muted = state.mutedUntil !== null && Date.parse(state.mutedUntil) > now;
  const pushed = prefs.in_app && !muted;
  const createdMs = Math.max(now, state.lastCreatedAtMs + 1);
  const next: InboxState = { ...state, lastCreatedAtMs: createdMs, lastStreamId: pushed ? state.lastStreamId + 1 : state.lastStreamId };
  const data = n.data ?? {};
  const row: NotificationRow = {
    id: newNotificationId(),
    user_id: state.userId,
    space_id: n.space_id ?? null,
    type: n.type,
    title: clip(n.title, MAX_TITLE),
    body: n.body == null ? null : clip(n.body, MAX_BODY),
    data: JSON.stringify(data).length > MAX_DATA_CHARS ? {} : data,
    stream_id: pushed ? next.lastStreamId : null,
    read_at: null,
    created_at: new Date(createdMs).toISOString(),
  };
  return { state: next, events: [{ type: 'notification', row }], reply: { stored: true, id: row.id, stream_id: row.stream_id } };
}

const clip = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

