import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '../harness.ts';
import { until } from '../streams/fixture.ts';
import { fire, list, reminderIn, storedCount, unread, waitStored } from './notifications-fixtures.ts';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

const TYPES = [
  'deploy.completed', 'deploy.failed', 'run.completed', 'run.failed', 'pr.review.requested', 'pr.comment', 'social.followed',
  'social.follow.requested', 'social.follow.accepted', 'workspace.invite', 'billing.quota_warning', 'security.new_login', 'reminder.triggered',
];

describe('notifications: authentication and parameters', () => {
  it('every endpoint answers 401 without a token', async () => {
    const calls: Array<[string, string, unknown?]> = [
      ['GET', '/api/notifications'],
      ['GET', '/api/notifications/unread-count'],
      ['PATCH', '/api/notifications/abc/read'],
      ['GET', '/api/notifications/preferences'],
      ['PATCH', '/api/notifications/preferences', { updates: [] }],
      ['GET', '/api/notifications/settings'],
      ['PATCH', '/api/notifications/settings', { muted_until: null }],
      ['GET', '/api/notifications/sse'],
      ['GET', '/api/notifications/ws'],
    ];
    for (const [method, path, body] of calls) {
      const r = await s.request(method, path, { token: null, ...(body !== undefined ? { body } : {}) });
      expect(r.status, `${method} ${path}`).toBe(401);
      expect(r.body.error.code).toBe('UNAUTHORIZED');
    }
  });

  it('a malformed notification id is 400 before anything else', async () => {
    const r = await s.request('PATCH', '/api/notifications/a.b/read', { token: null });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toBe('Invalid route parameter: id');
  });

  it('GET /ws without an upgrade is 426', async () => {
    const u = await s.user();
    const r = await s.request('GET', '/api/notifications/ws', { token: u.token });
    expect(r.status).toBe(426);
    expect(r.headers.get('upgrade')).toBe('websocket');
  });
});

describe('notifications produced by real events', () => {
  it('a member added to a space gets workspace.invite, in their inbox only', async () => {
    const owner = await s.user();
    const member = await s.user();
    const sp = await s.request('POST', '/api/spaces', { token: owner.token, body: { name: 'Invite Space' } });
    const add = await s.request('POST', `/api/spaces/${sp.body.space.id}/members`, { token: owner.token, body: { username: member.username, role: 'editor' } });
    expect(add.status).toBe(201);
    await waitStored(s, member, 1);
    const [n] = await list(s, member);
    expect(n).toMatchObject({
      user_id: member.id,
      space_id: sp.body.space.id,
      type: 'workspace.invite',
      title: 'You were added to Invite Space',
      body: 'Role: editor',
      data: { space_id: sp.body.space.id, space_name: 'Invite Space', role: 'editor', added_by: owner.id },
      read_at: null,
      stream_id: 1,
    });
    expect(n!.id).toMatch(/^[a-z0-9]{16}$/);
    expect(n!.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(await storedCount(s, owner)).toBe(0);
    expect(await list(s, owner)).toEqual([]);
  });
});

describe('list, unread count, mark read', () => {
  let u: TestUser;
  let other: TestUser;
  beforeAll(async () => {
    u = await s.user();
    other = await s.user();
    const rem = await reminderIn(s, u);
    await fire(s, u, rem, 55, 55);
  });

  it('lists newest first with strictly decreasing created_at and contiguous stream ids; limit default 20, max 50', async () => {
    const page = await list(s, u);
    expect(page).toHaveLength(20);
    const all = await list(s, u, '?limit=500');
    expect(all).toHaveLength(50);
    for (let i = 1; i < all.length; i++) expect(Date.parse(all[i - 1]!.created_at)).toBeGreaterThan(Date.parse(all[i]!.created_at));
    expect(all.map((n) => n.stream_id)).toEqual(Array.from({ length: 50 }, (_, i) => 55 - i));
    expect(all[0]).toMatchObject({ type: 'reminder.triggered', title: 'Ping', data: { firing: 55, trigger_type: 'condition' } });
    expect(await list(s, u, '?limit=0')).toHaveLength(20);
    expect(await list(s, u, '?limit=garbage')).toHaveLength(20);
    expect(await list(s, u, '?limit=3')).toHaveLength(3);
  });

  it('before pages through everything exactly once', async () => {
    const seen: string[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await list(s, u, `?limit=7${before ? `&before=${encodeURIComponent(before)}` : ''}`);
      if (page.length === 0) break;
      seen.push(...page.map((n) => n.id));
      before = page[page.length - 1]!.created_at;
    }
    expect(seen).toHaveLength(55);
    expect(new Set(seen).size).toBe(55);
  });

  it('before accepts an offset time and rejects garbage with 422', async () => {
    const all = await list(s, u, '?limit=50');
    const t = new Date(Date.parse(all[9]!.created_at));
    const offset = new Date(t.getTime() + 9 * 3600_000).toISOString().replace('Z', '+09:00');
    const page = await list(s, u, `?limit=50&before=${encodeURIComponent(offset)}`);
    expect(page[0]!.id).toBe(all[10]!.id);
    const bad = await s.request('GET', '/api/notifications?before=yesterday', { token: u.token });
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe('VALIDATION_ERROR');
    expect(bad.body.error.details[0]).toMatchObject({ in: 'query', path: 'before' });
  });

  it('filters by type and unread_only; an unknown type filter is 422', async () => {
    expect(await list(s, u, '?type=run.completed')).toEqual([]);
    expect(await list(s, u, '?type=reminder.triggered&limit=5')).toHaveLength(5);
    expect((await s.request('GET', '/api/notifications?type=nope', { token: u.token })).status).toBe(422);
  });

  it('unread count, mark read (idempotent), unread_only', async () => {
    expect(await unread(s, u)).toBe(55);
    const [first, second] = await list(s, u, '?limit=2');
    const r = await s.request('PATCH', `/api/notifications/${first!.id}/read`, { token: u.token });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ success: true });
    expect(await unread(s, u)).toBe(54);
    const readAt = (await list(s, u, '?limit=1'))[0]!.read_at;
    expect(readAt).toMatch(/Z$/);
    expect((await s.request('PATCH', `/api/notifications/${first!.id}/read`, { token: u.token })).status).toBe(200);
    expect((await list(s, u, '?limit=1'))[0]!.read_at).toBe(readAt);
    expect(await unread(s, u)).toBe(54);
    const unreadOnly = await list(s, u, '?unread_only=true&limit=1');
    expect(unreadOnly[0]!.id).toBe(second!.id);
  });

  it('a notification that is not yours is 404 and stays unread; other users see nothing of it', async () => {
    const [mine] = await list(s, u, '?unread_only=true&limit=1');
    const r = await s.request('PATCH', `/api/notifications/${mine!.id}/read`, { token: other.token });
    expect(r.status).toBe(404);
    expect(r.body.error).toEqual({ code: 'NOT_FOUND', message: 'Notification not found' });
    expect((await list(s, u, '?unread_only=true&limit=1'))[0]!.id).toBe(mine!.id);
    expect((await s.request('PATCH', '/api/notifications/doesnotexist1234/read', { token: u.token })).status).toBe(404);
    expect(await list(s, other)).toEqual([]);
    expect(await unread(s, other)).toBe(0);
  });
});

describe('preferences', () => {
  it('GET answers the full default matrix', async () => {
    const u = await s.user();
    const r = await s.request('GET', '/api/notifications/preferences', { token: u.token });
    expect(r.status).toBe(200);
    expect(r.body.types).toEqual(TYPES);
    expect(r.body.channels).toEqual(['in_app', 'email', 'push']);
    expect(Object.keys(r.body.preferences)).toEqual(TYPES);
    expect(r.body.preferences['run.failed']).toEqual({ in_app: true, email: true, push: false });
    expect(r.body.preferences['run.completed']).toEqual({ in_app: true, email: false, push: false });
    expect(r.body.preferences['reminder.triggered']).toEqual({ in_app: true, email: false, push: false });
  });

  it('PATCH applies updates and answers the matrix; bad type/channel 400, bad shape 422, nothing changed', async () => {
    const u = await s.user();
    const ok = await s.request('PATCH', '/api/notifications/preferences', {
      token: u.token,
      body: { updates: [{ type: 'run.completed', channel: 'email', enabled: true }, { type: 'pr.comment', channel: 'in_app', enabled: false }] },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.preferences['run.completed']).toEqual({ in_app: true, email: true, push: false });
    expect(ok.body.preferences['pr.comment']).toEqual({ in_app: false, email: false, push: false });
    const again = await s.request('GET', '/api/notifications/preferences', { token: u.token });
    expect(again.body).toEqual(ok.body);

    const badType = await s.request('PATCH', '/api/notifications/preferences', { token: u.token, body: { updates: [{ type: 'nope', channel: 'email', enabled: true }] } });
    expect(badType.status).toBe(400);
    expect(badType.body.error).toEqual({ code: 'BAD_REQUEST', message: 'Invalid type: nope' });
    const badChannel = await s.request('PATCH', '/api/notifications/preferences', {
      token: u.token,
      body: { updates: [{ type: 'run.failed', channel: 'email', enabled: false }, { type: 'run.failed', channel: 'sms', enabled: true }] },
    });
    expect(badChannel.status).toBe(400);
    expect(badChannel.body.error.message).toBe('Invalid channel: sms');
    expect((await s.request('PATCH', '/api/notifications/preferences', { token: u.token, body: {} })).status).toBe(422);
    const notBool = await s.request('PATCH', '/api/notifications/preferences', { token: u.token, body: { updates: [{ type: 'run.failed', channel: 'email', enabled: 'yes' }] } });
    expect(notBool.status).toBe(422);
    expect((await s.request('GET', '/api/notifications/preferences', { token: u.token })).body).toEqual(ok.body);
  });

  it('in_app off hides a type from the list and the count; turning it on shows it again', async () => {
    const u = await s.user();
    const rem = await reminderIn(s, u);
    await fire(s, u, rem, 2, 2);
    const off = await s.request('PATCH', '/api/notifications/preferences', { token: u.token, body: { updates: [{ type: 'reminder.triggered', channel: 'in_app', enabled: false }] } });
    expect(off.status).toBe(200);
    expect(await list(s, u)).toEqual([]);
    expect(await unread(s, u)).toBe(0);
    // Stored but not listed: in_app off with push on still stores (push counts), without a stream id.
    await s.request('PATCH', '/api/notifications/preferences', { token: u.token, body: { updates: [{ type: 'reminder.triggered', channel: 'push', enabled: true }] } });
    await fire(s, u, rem, 1, 3);
    // Both off: not stored at all.
    await s.request('PATCH', '/api/notifications/preferences', { token: u.token, body: { updates: [{ type: 'reminder.triggered', channel: 'push', enabled: false }] } });
    await fire(s, u, rem, 1);
    await until(async () => (await s.kernel.sql`SELECT delivered_count FROM reminders WHERE id = ${rem}`)[0]!.delivered_count === 4, 5_000, 'fourth firing acknowledged');
    expect(await storedCount(s, u)).toBe(3);
    await s.request('PATCH', '/api/notifications/preferences', { token: u.token, body: { updates: [{ type: 'reminder.triggered', channel: 'in_app', enabled: true }] } });
    const all = await list(s, u);
    expect(all.map((n) => n.stream_id)).toEqual([null, 2, 1]);
    expect(await unread(s, u)).toBe(3);
  });
});

describe('settings', () => {
  it('muted_until: null by default, normalised to UTC, null unmutes, bad values 422', async () => {
    const u = await s.user();
    expect((await s.request('GET', '/api/notifications/settings', { token: u.token })).body).toEqual({ muted_until: null });
    const set = await s.request('PATCH', '/api/notifications/settings', { token: u.token, body: { muted_until: '2030-01-02T12:00:00+09:00' } });
    expect(set.status).toBe(200);
    expect(set.body).toEqual({ muted_until: '2030-01-02T03:00:00.000Z' });
    expect((await s.request('GET', '/api/notifications/settings', { token: u.token })).body).toEqual({ muted_until: '2030-01-02T03:00:00.000Z' });
    for (const body of [{ muted_until: 'tomorrow' }, { muted_until: 5 }, {}, { muted_until: '2030-01-02' }]) {
      const r = await s.request('PATCH', '/api/notifications/settings', { token: u.token, body });
      expect(r.status, JSON.stringify(body)).toBe(422);
    }
    expect((await s.request('GET', '/api/notifications/settings', { token: u.token })).body).toEqual({ muted_until: '2030-01-02T03:00:00.000Z' });
    const clear = await s.request('PATCH', '/api/notifications/settings', { token: u.token, body: { muted_until: null } });
    expect(clear.body).toEqual({ muted_until: null });
  });

  it('muted: stored, listed and counted, but not pushed (no stream id); a past muted_until does not mute', async () => {
    const u = await s.user();
    const rem = await reminderIn(s, u);
    await s.request('PATCH', '/api/notifications/settings', { token: u.token, body: { muted_until: new Date(Date.now() + 3600_000).toISOString() } });
    await fire(s, u, rem, 2, 2);
    expect((await list(s, u)).map((n) => n.stream_id)).toEqual([null, null]);
    expect(await unread(s, u)).toBe(2);
    await s.request('PATCH', '/api/notifications/settings', { token: u.token, body: { muted_until: new Date(Date.now() - 1000).toISOString() } });
    await fire(s, u, rem, 1, 3);
    expect((await list(s, u)).map((n) => n.stream_id)).toEqual([1, null, null]);
  });
});

describe('OpenAPI', () => {
  it('documents the nine notification rows and the six reminder rows from their schemas', async () => {
    const r = await s.request('GET', '/openapi.json', { token: null });
    const paths = r.body.paths as Record<string, Record<string, { requestBody?: { content: { 'application/json': { schema: { required?: string[] } } } } }>>;
    const rows: Array<[string, string]> = [
      ['get', '/api/notifications'], ['get', '/api/notifications/unread-count'], ['patch', '/api/notifications/{id}/read'],
      ['get', '/api/notifications/preferences'], ['patch', '/api/notifications/preferences'], ['get', '/api/notifications/settings'],
      ['patch', '/api/notifications/settings'], ['get', '/api/notifications/sse'], ['get', '/api/notifications/ws'],
      ['get', '/api/spaces/{spaceId}/reminders'], ['post', '/api/spaces/{spaceId}/reminders'], ['get', '/api/reminders/{id}'],
      ['patch', '/api/reminders/{id}'], ['delete', '/api/reminders/{id}'], ['post', '/api/reminders/{id}/trigger'],
    ];
    for (const [m, p] of rows) expect(paths[p]?.[m], `${m} ${p}`).toBeDefined();
    expect(paths['/api/spaces/{spaceId}/reminders']!.post!.requestBody!.content['application/json'].schema.required).toEqual(expect.arrayContaining(['content', 'trigger_type']));
    expect(paths['/api/notifications/preferences']!.patch!.requestBody!.content['application/json'].schema.required).toEqual(['updates']);
  });
});

describe('the inbox actor directly (producers inside the server)', () => {
  it('stores oversized data as {} and clips long titles; refuses unknown types; ignores unknown users', async () => {
    const { inboxKind } = await import('../../actors/inbox/kind.ts');
    const u = await s.user();
    const big = { blob: 'x'.repeat(10_001) };
    const r = await s.deps.actors.send(inboxKind, u.id, { type: 'notify', notification: { type: 'security.new_login', title: 't'.repeat(600), data: big } });
    expect(r).toMatchObject({ stored: true, stream_id: 1 });
    const [n] = await list(s, u);
    expect(n!.data).toEqual({});
    expect((n!.title as string).length).toBe(500);
    const bad = await s.deps.actors.send(inboxKind, u.id, { type: 'notify', notification: { type: 'nope' as never, title: 'x' } }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 'BAD_REQUEST', message: 'Invalid type: nope' });
    expect(await s.deps.actors.send(inboxKind, 'f'.repeat(32), { type: 'notify', notification: { type: 'run.failed', title: 'x' } })).toEqual({ stored: false, reason: 'no such user' });
    expect(await storedCount(s, u)).toBe(1);
  });
});
