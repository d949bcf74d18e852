import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '../harness.ts';
import { until } from '../streams/fixture.ts';
import { list, storedCount, waitStored } from './notifications-fixtures.ts';

/** Reminders: CRUD and roles (workspace spec 7), and firing through the reminder actor's durable timers. */
let s: TestServer;
let owner: TestUser;
let editor: TestUser;
let viewer: TestUser;
let outsider: TestUser;
let spaceId: string;

beforeAll(async () => {
  s = await startTestServer({ actors: { timerPollMs: 50 } });
  [owner, editor, viewer, outsider] = await Promise.all([s.user(), s.user(), s.user(), s.user()]);
  const sp = await s.request('POST', '/api/spaces', { token: owner.token, body: { name: 'Reminder Space' } });
  spaceId = sp.body.space.id;
  for (const [u, role] of [[editor, 'editor'], [viewer, 'viewer']] as const) {
    expect((await s.request('POST', `/api/spaces/${spaceId}/members`, { token: owner.token, body: { username: u.username, role } })).status).toBe(201);
  }
});
afterAll(() => s.close());

const create = (u: TestUser, body: Record<string, unknown>, space = spaceId) => s.request('POST', `/api/spaces/${space}/reminders`, { token: u.token, body });
const get = (u: TestUser, id: string) => s.request('GET', `/api/reminders/${id}`, { token: u.token });
const patch = (u: TestUser, id: string, body: Record<string, unknown>) => s.request('PATCH', `/api/reminders/${id}`, { token: u.token, body });
const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();
const reminderCount = async (u: TestUser) => (await list(s, u, '?type=reminder.triggered&limit=50')).length;

describe('reminders: authentication, validation, roles', () => {
  it('every endpoint answers 401 without a token', async () => {
    for (const [m, p] of [['GET', `/api/spaces/${spaceId}/reminders`], ['POST', `/api/spaces/${spaceId}/reminders`], ['GET', '/api/reminders/x'], ['PATCH', '/api/reminders/x'], ['DELETE', '/api/reminders/x'], ['POST', '/api/reminders/x/trigger']] as const) {
      const r = await s.request(m, p, { token: null, ...(m === 'POST' || m === 'PATCH' ? { body: {} } : {}) });
      expect(r.status, `${m} ${p}`).toBe(401);
    }
  });

  it('creates a bare reminder with defaults; a time reminder gets due_at', async () => {
    const r = await create(editor, { content: 'Water the plants', trigger_type: 'condition', trigger_value: 'when it is dry' });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      id: expect.stringMatching(/^[a-z0-9]{12}$/),
      space_id: spaceId,
      user_id: editor.id,
      content: 'Water the plants',
      context: null,
      trigger_type: 'condition',
      trigger_value: 'when it is dry',
      due_at: null,
      status: 'pending',
      triggered_at: null,
      priority: 'normal',
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const t = await create(owner, { content: 'Later', trigger_type: 'time', trigger_value: '2099-01-01T09:00:00+09:00', priority: 'high', context: 'ctx' });
    expect(t.status).toBe(201);
    expect(t.body).toMatchObject({ trigger_value: '2099-01-01T09:00:00+09:00', due_at: '2099-01-01T00:00:00.000Z', priority: 'high', context: 'ctx' });
    const [timer] = await s.kernel.sql`SELECT fire_at FROM actor_timers WHERE kind = 'reminder' AND actor_id = ${t.body.id} AND name = 'due'`;
    expect((timer!.fire_at as Date).toISOString()).toBe('2099-01-01T00:00:00.000Z');
    const personal = await create(outsider, { content: 'Mine', trigger_type: 'context' }, 'me');
    expect(personal.status).toBe(201);
    expect(personal.body.space_id).toBe(outsider.id);
  });

  it('rejects bad bodies with 422 and stores nothing', async () => {
    const before = (await s.kernel.sql`SELECT count(*)::int AS n FROM reminders`)[0]!.n;
    for (const body of [
      {},
      { content: '', trigger_type: 'time', trigger_value: inMs(1000) },
      { content: 'x', trigger_type: 'sometime' },
      { content: 'x', trigger_type: 'time' },
      { content: 'x', trigger_type: 'time', trigger_value: 'tomorrow morning' },
      { content: 'x', trigger_type: 'condition', priority: 'urgent' },
      { content: 'x'.repeat(10_001), trigger_type: 'condition' },
    ]) {
      const r = await create(editor, body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(422);
      expect(r.body.error.code).toBe('VALIDATION_ERROR');
    }
    expect((await s.kernel.sql`SELECT count(*)::int AS n FROM reminders`)[0]!.n).toBe(before);
  });

  it('viewers and outsiders cannot create (404 Space not found); the original let any member create', async () => {
    for (const u of [viewer, outsider]) {
      const r = await create(u, { content: 'x', trigger_type: 'condition' });
      expect(r.status).toBe(404);
      expect(r.body.error.message).toBe('Space not found');
    }
  });

  it('GET: members read, others 404 (not 403), bad id 400', async () => {
    const r = await create(editor, { content: 'Read me', trigger_type: 'condition' });
    expect((await get(viewer, r.body.id)).body).toEqual(r.body);
    const foreign = await get(outsider, r.body.id);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error).toEqual({ code: 'NOT_FOUND', message: 'Reminder not found' });
    expect((await get(owner, 'nonexistent12')).status).toBe(404);
    expect((await get(owner, 'bad.id')).status).toBe(400);
  });

  it('lists by priority rank then newest; status filter validated; limit clamped', async () => {
    const sp = await s.request('POST', '/api/spaces', { token: owner.token, body: { name: 'List Space' } });
    const id = sp.body.space.id;
    const made: Record<string, string> = {};
    for (const p of ['normal', 'low', 'critical', 'high', 'normal']) {
      made[p] = (await create(owner, { content: p, trigger_type: 'condition', priority: p }, id)).body.id;
    }
    const l = await s.request('GET', `/api/spaces/${id}/reminders`, { token: owner.token });
    expect(l.status).toBe(200);
    expect(l.body.reminders.map((r: { priority: string }) => r.priority)).toEqual(['critical', 'high', 'normal', 'normal', 'low']);
    expect(l.body.reminders[2].id).toBe(made.normal);
    await s.request('POST', `/api/reminders/${made.low}/trigger`, { token: owner.token });
    const trig = await s.request('GET', `/api/spaces/${id}/reminders?status=triggered`, { token: owner.token });
    expect(trig.body.reminders.map((r: { id: string }) => r.id)).toEqual([made.low]);
    expect((await s.request('GET', `/api/spaces/${id}/reminders?status=bogus`, { token: owner.token })).status).toBe(422);
    expect((await s.request('GET', `/api/spaces/${id}/reminders?limit=2`, { token: owner.token })).body.reminders).toHaveLength(2);
    expect((await s.request('GET', `/api/spaces/${id}/reminders?limit=0`, { token: owner.token })).body.reminders).toHaveLength(5);
    expect((await s.request('GET', `/api/spaces/${id}/reminders`, { token: outsider.token })).status).toBe(404);
  });

  it('PATCH (EDITOR+): fields, status triggered stamps triggered_at, trigger_type immutable, bad time 422, viewer 404', async () => {
    const r = await create(owner, { content: 'Patch me', trigger_type: 'time', trigger_value: '2099-01-01T00:00:00Z' });
    const p = await patch(editor, r.body.id, { content: 'Patched', priority: 'critical', context: 'why' });
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({ content: 'Patched', priority: 'critical', context: 'why', status: 'pending', triggered_at: null });
    expect(Date.parse(p.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(r.body.updated_at));
    const t = await patch(editor, r.body.id, { status: 'triggered' });
    expect(t.body.status).toBe('triggered');
    expect(t.body.triggered_at).toEqual(expect.any(String));
    const timers = await s.kernel.sql`SELECT 1 FROM actor_timers WHERE kind = 'reminder' AND actor_id = ${r.body.id} AND name = 'due'`;
    expect(timers).toHaveLength(0);
    const c = await patch(editor, r.body.id, { status: 'completed' });
    expect(c.body).toMatchObject({ status: 'completed', triggered_at: t.body.triggered_at });
    expect((await patch(editor, r.body.id, { trigger_type: 'condition' })).status).toBe(422);
    expect((await patch(editor, r.body.id, { trigger_value: 'soon' })).status).toBe(422);
    expect((await patch(editor, r.body.id, { trigger_value: null })).status).toBe(422);
    expect((await patch(editor, r.body.id, { status: 'nope' })).status).toBe(422);
    expect((await patch(viewer, r.body.id, { content: 'x' })).status).toBe(404);
    expect((await patch(outsider, r.body.id, { content: 'x' })).status).toBe(404);
    expect((await get(owner, r.body.id)).body.content).toBe('Patched');
  });

  it('DELETE (EDITOR+) removes the reminder and its timer', async () => {
    const r = await create(owner, { content: 'Delete me', trigger_type: 'time', trigger_value: '2099-01-01T00:00:00Z' });
    expect((await s.request('DELETE', `/api/reminders/${r.body.id}`, { token: viewer.token })).status).toBe(404);
    const d = await s.request('DELETE', `/api/reminders/${r.body.id}`, { token: editor.token });
    expect(d.status).toBe(200);
    expect(d.body).toEqual({ success: true });
    expect((await get(owner, r.body.id)).status).toBe(404);
    expect((await s.request('DELETE', `/api/reminders/${r.body.id}`, { token: editor.token })).status).toBe(404);
    expect(await s.kernel.sql`SELECT 1 FROM actor_timers WHERE kind = 'reminder' AND actor_id = ${r.body.id}`).toHaveLength(0);
  });
});

describe('reminders: firing', () => {
  it('trigger fires now from any status and notifies the creator (not the caller); viewer 404', async () => {
    const r = await create(owner, { content: 'Ship it', trigger_type: 'condition', context: 'release day', priority: 'high' });
    const before = await storedCount(s, owner);
    expect((await s.request('POST', `/api/reminders/${r.body.id}/trigger`, { token: viewer.token })).status).toBe(404);
    await patch(owner, r.body.id, { status: 'dismissed' });
    const t = await s.request('POST', `/api/reminders/${r.body.id}/trigger`, { token: editor.token });
    expect(t.status).toBe(200);
    expect(t.body).toMatchObject({ status: 'triggered', triggered_at: expect.any(String) });
    await waitStored(s, owner, before + 1);
    const [n] = await list(s, owner, '?type=reminder.triggered&limit=1');
    expect(n).toMatchObject({ space_id: spaceId, title: 'Ship it', body: 'release day', data: { reminder_id: r.body.id, priority: 'high', firing: 1 } });
    expect(await list(s, editor, '?type=reminder.triggered')).toEqual([]);
  });

  it('a time reminder fires at its time, not before, once', async () => {
    const due = inMs(1200);
    const before = await reminderCount(owner);
    const r = await create(owner, { content: 'Stand up', trigger_type: 'time', trigger_value: due });
    expect((await get(owner, r.body.id)).body.status).toBe('pending');
    await until(async () => (await get(owner, r.body.id)).body.status === 'triggered', 10_000, 'reminder fired');
    const fired = (await get(owner, r.body.id)).body;
    expect(Date.parse(fired.triggered_at)).toBeGreaterThanOrEqual(Date.parse(due));
    await until(async () => (await reminderCount(owner)) === before + 1, 5_000, 'notification');
    const [n] = await list(s, owner, '?type=reminder.triggered&limit=1');
    expect(Date.parse(n!.created_at)).toBeGreaterThanOrEqual(Date.parse(due));
    await new Promise((res) => setTimeout(res, 400));
    expect(await reminderCount(owner)).toBe(before + 1);
    expect(await s.kernel.sql`SELECT 1 FROM actor_timers WHERE kind = 'reminder' AND actor_id = ${r.body.id} AND name = 'due'`).toHaveLength(0);
  });

  it('PATCH back to pending with a new time re-arms it; a due time in the past fires at once', async () => {
    const r = await create(owner, { content: 'Again', trigger_type: 'condition' });
    const t = await create(owner, { content: 'Twice', trigger_type: 'time', trigger_value: inMs(-60_000) });
    await until(async () => (await get(owner, t.body.id)).body.status === 'triggered', 10_000, 'past-due reminder fired at once');
    await patch(owner, t.body.id, { status: 'pending', trigger_value: inMs(500) });
    await until(async () => (await get(owner, t.body.id)).body.status === 'triggered', 10_000, 'fired again');
    await until(async () => (await list(s, owner, '?type=reminder.triggered&limit=50')).filter((n) => n.data.reminder_id === t.body.id).length === 2, 5_000, 'two notifications');
    const firings = (await list(s, owner, '?type=reminder.triggered&limit=50')).filter((n) => n.data.reminder_id === t.body.id).map((n) => n.data.firing);
    expect(firings).toEqual([2, 1]);
    expect((await get(owner, r.body.id)).body.status).toBe('pending');
  });

  it('dismissed or deleted before its time, it never fires', async () => {
    const before = await reminderCount(owner);
    const a = await create(owner, { content: 'Dismiss', trigger_type: 'time', trigger_value: inMs(600) });
    const b = await create(owner, { content: 'Delete', trigger_type: 'time', trigger_value: inMs(600) });
    await patch(owner, a.body.id, { status: 'dismissed' });
    await s.request('DELETE', `/api/reminders/${b.body.id}`, { token: owner.token });
    await new Promise((res) => setTimeout(res, 1200));
    expect((await get(owner, a.body.id)).body.status).toBe('dismissed');
    expect(await reminderCount(owner)).toBe(before);
  });

  it('an owner who left the space is not notified when their reminder fires', async () => {
    const leaver = await s.user();
    await s.request('POST', `/api/spaces/${spaceId}/members`, { token: owner.token, body: { username: leaver.username, role: 'editor' } });
    const r = await create(leaver, { content: 'After I leave', trigger_type: 'condition' });
    expect((await s.request('DELETE', `/api/spaces/${spaceId}/members/${leaver.username}`, { token: owner.token })).status).toBeLessThan(300);
    await s.request('POST', `/api/reminders/${r.body.id}/trigger`, { token: owner.token });
    await until(async () => (await s.kernel.sql`SELECT delivered_count FROM reminders WHERE id = ${r.body.id}`)[0]!.delivered_count === 1, 5_000, 'firing settled');
    expect(await list(s, leaver, '?type=reminder.triggered')).toEqual([]);
  });
});
