import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../harness.ts';
import { until, wsClient } from '../streams/fixture.ts';
import { fire, list, reminderIn, sseClient } from './notifications-fixtures.ts';

/** SSE and WebSocket delivery of notifications: live, resume, gaps, isolation, mute, and a web process restart. */
let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

const wsUrl = (srv: TestServer, query = '') => `${srv.url.replace('http', 'ws')}/api/notifications/ws${query}`;

describe('SSE', () => {
  it('starts live without a resume point and delivers each notification once, ids contiguous', async () => {
    const u = await s.user();
    const rem = await reminderIn(s, u);
    await fire(s, u, rem, 2, 2);
    const c = sseClient(s.url, u.token);
    await c.connected();
    await fire(s, u, rem, 3, 5);
    await until(() => c.ids().length === 3, 5_000, 'three live frames');
    expect(c.ids()).toEqual([3, 4, 5]);
    const ev = c.events()[0]!;
    expect(ev.event).toBe('notification.new');
    const listed = await list(s, u, '?limit=5');
    expect(ev.data).toEqual({ notification_id: listed[2]!.id, notification: { ...listed[2], read_at: null } });
    await c.close();
  });

  it('resumes after Last-Event-ID (header or ?last_event_id=); 0 replays everything; garbage is ignored', async () => {
    const u = await s.user();
    const rem = await reminderIn(s, u);
    await fire(s, u, rem, 4, 4);
    const fromHeader = sseClient(s.url, u.token, { lastEventId: 2 });
    const fromQuery = sseClient(s.url, u.token, { query: '?last_event_id=0' });
    const garbage = sseClient(s.url, u.token, { query: '?last_event_id=abc' });
    await Promise.all([fromHeader.connected(), fromQuery.connected(), garbage.connected()]);
    await until(() => fromHeader.ids().length === 2 && fromQuery.ids().length === 4, 5_000, 'replays');
    await fire(s, u, rem, 1, 5);
    await until(() => fromHeader.ids().length === 3 && fromQuery.ids().length === 5 && garbage.ids().length === 1, 5_000, 'live after replay');
    expect(fromHeader.ids()).toEqual([3, 4, 5]);
    expect(fromQuery.ids()).toEqual([1, 2, 3, 4, 5]);
    expect(garbage.ids()).toEqual([5]);
    await Promise.all([fromHeader.close(), fromQuery.close(), garbage.close()]);
  });

  it('says history_gone when the events asked for no longer exist, then continues from the first available', async () => {
    const u = await s.user();
    const rem = await reminderIn(s, u);
    await fire(s, u, rem, 5, 5);
    // Retention as an operator would apply it: old rows deleted, the Redis tail expired.
    await s.kernel.sql`DELETE FROM notifications WHERE user_id = ${u.id} AND stream_id <= 3`;
    await s.kernel.redis.cmd.del(s.kernel.keys.eventTail('inbox', u.id));
    const c = sseClient(s.url, u.token, { lastEventId: 1 });
    await until(() => c.ids().length === 2, 5_000, 'events after the gap');
    const ev = c.events();
    expect(ev[0]).toMatchObject({ event: 'history_gone', data: { requested_after: 1, first_available: 4 } });
    expect(c.ids()).toEqual([4, 5]);
    await c.close();
  });

  it('a user receives only their own notifications', async () => {
    const a = await s.user();
    const b = await s.user();
    const remA = await reminderIn(s, a);
    const remB = await reminderIn(s, b);
    const ca = sseClient(s.url, a.token, { lastEventId: 0 });
    const cb = sseClient(s.url, b.token, { lastEventId: 0 });
    await Promise.all([ca.connected(), cb.connected()]);
    await fire(s, a, remA, 3, 3);
    await fire(s, b, remB, 1, 1);
    await until(() => ca.ids().length === 3 && cb.ids().length === 1, 5_000, 'both streams');
    const aIds = new Set((await list(s, a)).map((n) => n.id));
    expect(ca.events().every((f) => aIds.has((f.data as { notification_id: string }).notification_id))).toBe(true);
    expect(cb.ids()).toEqual([1]);
    expect(aIds.has((cb.events()[0]!.data as { notification_id: string }).notification_id)).toBe(false);
    await Promise.all([ca.close(), cb.close()]);
  });

  it('muted notifications are not pushed; after unmuting the next one continues the id sequence', async () => {
    const u = await s.user();
    const rem = await reminderIn(s, u);
    const c = sseClient(s.url, u.token, { lastEventId: 0 });
    await c.connected();
    await fire(s, u, rem, 1, 1);
    await s.request('PATCH', '/api/notifications/settings', { token: u.token, body: { muted_until: new Date(Date.now() + 3600_000).toISOString() } });
    await fire(s, u, rem, 2, 3);
    await s.request('PATCH', '/api/notifications/settings', { token: u.token, body: { muted_until: null } });
    await fire(s, u, rem, 1, 4);
    await until(() => c.ids().length === 2, 5_000, 'second pushed notification');
    expect(c.ids()).toEqual([1, 2]);
    const pushedIds = (await list(s, u)).filter((n) => n.stream_id !== null).map((n) => n.id);
    expect(c.events().map((f) => (f.data as { notification_id: string }).notification_id)).toEqual(pushedIds.reverse());
    await c.close();
  });
});

describe('WebSocket', () => {
  it('connected frame, live frames in the run-stream format, replay after last_event_id', async () => {
    const u = await s.user();
    const rem = await reminderIn(s, u);
    await fire(s, u, rem, 2, 2);
    const live = wsClient(wsUrl(s), { authorization: `Bearer ${u.token}` });
    const replay = wsClient(wsUrl(s, '?last_event_id=1'), { authorization: `Bearer ${u.token}` });
    await Promise.all([live.opened, replay.opened]);
    await until(() => live.messages.length >= 1 && replay.ids.length >= 1, 5_000, 'connected + replay');
    expect(live.messages[0]).toMatchObject({ type: 'connected', data: { lastEventId: 2 } });
    await fire(s, u, rem, 1, 3);
    await until(() => live.ids.length === 1 && replay.ids.length === 2, 5_000, 'live frames');
    expect(live.ids).toEqual([3]);
    expect(replay.ids).toEqual([2, 3]);
    const frame = live.messages.find((m) => m.type === 'notification.new')!;
    expect(frame).toMatchObject({ eventId: 3, event_id: '3', data: { notification_id: expect.stringMatching(/^[a-z0-9]{16}$/) } });
    expect(replay.messages.find((m) => m.type === 'replay')).toMatchObject({ data: { count: 1, events: [{ id: 2, event_id: '2', type: 'notification.new' }] } });
    live.ws.send('ping');
    await until(() => live.texts.includes('pong'), 2_000, 'pong');
    live.ws.close();
    replay.ws.close();
  });

  it('refuses the upgrade without a token (401) and with a bad last_event_id (400)', async () => {
    const u = await s.user();
    const open = (url: string, token: string | null) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('error', () => undefined);
      });
    expect(await open(wsUrl(s), null)).toBe(401);
    expect(await open(wsUrl(s, '?last_event_id=-1'), u.token)).toBe(400);
    expect(await open(wsUrl(s, '?last_event_id=x'), u.token)).toBe(400);
    expect(await open(wsUrl(s, '?last_event_id=0'), u.token)).toBe(101);
  });
});

describe('across a web process restart', () => {
  it('a client resuming with Last-Event-ID on another process gets every notification exactly once', async () => {
    const u = await s.user();
    const rem = await reminderIn(s, u);
    const first = await startTestServer({ attachTo: s });
    const c1 = sseClient(first.url, u.token, { lastEventId: 0 });
    await c1.connected();
    await fire(s, u, rem, 3, 3);
    await until(() => c1.ids().length === 3, 5_000, 'first process frames');
    const seen = c1.ids();
    // The first web process goes away (its stream ends), notifications keep coming meanwhile.
    await first.close();
    await c1.done;
    await fire(s, u, rem, 4, 7);
    const second = await startTestServer({ attachTo: s });
    try {
      const c2 = sseClient(second.url, u.token, { lastEventId: seen[seen.length - 1]! });
      await c2.connected();
      await fire(s, u, rem, 2, 9);
      await until(() => c2.ids().length === 6, 10_000, () => `resumed frames (have ${JSON.stringify(c2.ids())})`);
      const all = [...seen, ...c2.ids()];
      expect(all).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const listed = (await list(s, u)).map((n) => n.id).reverse();
      const received = [...c1.events(), ...c2.events()].map((f) => (f.data as { notification_id: string }).notification_id);
      expect(received).toEqual(listed);
      await c2.close();
    } finally {
      await second.close();
    }
  });
});
