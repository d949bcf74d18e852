import { badRequest } from '../../../runtime/errors.ts';
import { reply } from '../../reply.ts';
import { route, type AnyRoute } from '../../route.ts';
import { sseStream } from '../../stream/sse.ts';
import { wsStreamHandler } from '../../stream/ws-stream.ts';
import { wsRoute, type WsRoute } from '../../ws.ts';
import { INBOX_STREAM, inboxHistory } from '../../../actors/inbox/stream.ts';
import { inboxCounters } from './queries.ts';

/**
 * The user's notifications live, over SSE and WebSocket, with the resume contract of run streams: event id = the
 * notification's stream id (contiguous per user), resume after `Last-Event-ID` (SSE) or `?last_event_id=` (both),
 * every event exactly once and in order across reconnects and web-process restarts, and an explicit
 * `history_gone` frame if the events asked for no longer exist. The original had SSE only on Node and it never
 * received anything, and WebSocket only on Cloudflare; both work here, on every process.
 *
 * Without a resume point a connection starts live, after the user's current last stream id (a client lists
 * notifications first, then listens; every listed notification carries its `stream_id` for an exact hand-over);
 * unlike a run, an inbox's whole history is not something to replay by default. `0` replays everything pushed.
 * A garbage SSE resume point is ignored (as for runs: EventSource sends whatever it last saw); a garbage
 * WebSocket `last_event_id` is refused with 400 "Invalid last_event_id", as the original's notifier did.
 */
const family = 'notifications';

const isEventId = (v: string | null | undefined): v is string => typeof v === 'string' && /^\d+$/.test(v) && Number.isSafeInteger(Number(v));

const sseResumePoint = (header: string | undefined, query: string | null): number | null => {
  for (const v of [header, query]) if (isEventId(v)) return Number(v);
  return null;
};

export function notificationsStreamRoutes(): AnyRoute[] {
  return [
    route({
      method: 'GET',
      path: '/api/notifications/sse',
      family,
      summary: 'Live notifications over Server-Sent Events (resume with Last-Event-ID)',
      longLived: true,
      async handler(c) {
        const after = sseResumePoint(c.req.headers['last-event-id'], c.req.searchParams.get('last_event_id')) ?? (await inboxCounters(c.deps.sql, c.auth.userId)).lastStreamId;
        return sseStream({ kind: INBOX_STREAM, id: c.auth.userId, afterId: after, deps: { ...c.deps.streams, history: inboxHistory(c.deps.sql) }, log: c.log });
      },
    }),
    route({
      method: 'GET',
      path: '/api/notifications/ws',
      family,
      summary: 'Live notifications over WebSocket (upgrade required)',
      handler() {
        return reply(426, { error: { code: 'BAD_REQUEST', message: 'Expected WebSocket upgrade' } }, { Upgrade: 'websocket' });
      },
    }),
  ];
}

export function notificationsWsRoutes(): WsRoute[] {
  return [
    wsRoute({
      path: '/api/notifications/ws',
      family,
      summary: 'Live notifications over WebSocket',
      async open(c, topics) {
        const raw = c.req.searchParams.get('last_event_id');
        if (raw !== null && !isEventId(raw)) throw badRequest('Invalid last_event_id');
        const userId = c.auth!.userId;
        const { lastStreamId } = await inboxCounters(c.deps.sql, userId);
        return wsStreamHandler({
          kind: INBOX_STREAM,
          id: userId,
          afterId: raw !== null ? Number(raw) : lastStreamId,
          lastEventId: lastStreamId,
          deps: { ...c.deps.streams, history: inboxHistory(c.deps.sql) },
          topics,
          log: c.log,
          subscribeKey: 'userId',
        });
      },
    }),
  ];
}
