import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '../harness.ts';

let s: TestServer;
let alice: TestUser;
beforeAll(async () => {
  s = await startTestServer();
  alice = await s.user('alice', { name: 'Alice A' });
});
afterAll(() => s.close());

describe('GET /api/me', () => {
  it('answers the signed-in user', async () => {
    const r = await s.request('GET', '/api/me', { token: alice.token });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      id: alice.id, email: 'alice@example.test', name: 'Alice A', username: 'alice', picture: null, setup_completed: true,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
  });

  it('refuses anonymous callers, garbage tokens and JWT-looking bearers with 401', async () => {
    const anon = await s.request('GET', '/api/me', { token: null });
    expect(anon.status).toBe(401);
    expect(anon.body).toEqual({ error: { code: 'UNAUTHORIZED', message: 'Authentication required' } });
    const bad = await s.request('GET', '/api/me', { token: 'tak_pat_' + 'x'.repeat(43) });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    const jwt = await s.request('GET', '/api/me', { token: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln' });
    expect(jwt.status).toBe(401);
    expect(jwt.body.error.code).toBe('UNAUTHORIZED');
  });
});

describe('GET /api/me/personal-space', () => {
  it("answers the caller's own user space", async () => {
    const r = await s.request('GET', '/api/me/personal-space', { token: alice.token });
    expect(r.status).toBe(200);
    expect(r.body.space).toMatchObject({ id: alice.id, kind: 'user', slug: 'alice', is_personal: true, owner_id: alice.id });
    expect((await s.request('GET', '/api/me/personal-space', { token: null })).status).toBe(401);
  });
});

describe('settings', () => {
  it('starts from the defaults', async () => {
    const u = await s.user();
    const r = await s.request('GET', '/api/me/settings', { token: u.token });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ setup_completed: true, auto_update_enabled: true, private_account: false, activity_visibility: 'public' });
  });

  it('updates only the given fields, answers and persists the result, per user', async () => {
    const u = await s.user();
    const other = await s.user();
    const r = await s.request('PATCH', '/api/me/settings', { token: u.token, body: { private_account: true, activity_visibility: ' Followers ' } });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ setup_completed: true, auto_update_enabled: true, private_account: true, activity_visibility: 'followers' });
    const r2 = await s.request('PATCH', '/api/me/settings', { token: u.token, body: { auto_update_enabled: false } });
    expect(r2.body).toEqual({ setup_completed: true, auto_update_enabled: false, private_account: true, activity_visibility: 'followers' });
    expect((await s.request('GET', '/api/me/settings', { token: u.token })).body).toEqual(r2.body);
    expect((await s.request('GET', '/api/me/settings', { token: other.token })).body.private_account).toBe(false);
  });

  it('keeps concurrent updates of different settings', async () => {
    const u = await s.user();
    const rs = await Promise.all([
      s.request('PATCH', '/api/me/settings', { token: u.token, body: { private_account: true } }),
      s.request('PATCH', '/api/me/settings', { token: u.token, body: { activity_visibility: 'private' } }),
      s.request('PATCH', '/api/me/settings', { token: u.token, body: { auto_update_enabled: false } }),
    ]);
    expect(rs.map((r) => r.status)).toEqual([200, 200, 200]);
    const r = await s.request('GET', '/api/me/settings', { token: u.token });
    expect(r.body).toEqual({ setup_completed: true, auto_update_enabled: false, private_account: true, activity_visibility: 'private' });
  });

  it('setup_completed is the account flag that /api/setup/status reports', async () => {
    const u = await s.user();
    await s.request('PATCH', '/api/me/settings', { token: u.token, body: { setup_completed: false } });
    expect((await s.request('GET', '/api/setup/status', { token: u.token })).body.setup_completed).toBe(false);
  });

  it('refuses malformed settings with 422 and changes nothing', async () => {
    const u = await s.user();
    for (const body of [{ activity_visibility: 'friends' }, { private_account: 'yes' }, { auto_update_enabled: 1 }, { colour: 'blue' }, {}, { private_account: true, extra: 1 }]) {
      const r = await s.request('PATCH', '/api/me/settings', { token: u.token, body });
      expect(r.status, JSON.stringify(body)).toBe(422);
      expect(r.body.error.code).toBe('VALIDATION_ERROR');
    }
    expect((await s.request('PATCH', '/api/me/settings', { token: u.token, body: '{bad', raw: true, headers: { 'content-type': 'application/json' } })).status).toBe(400);
    expect((await s.request('GET', '/api/me/settings', { token: u.token })).body.private_account).toBe(false);
    expect((await s.request('PATCH', '/api/me/settings', { token: null, body: { private_account: true } })).status).toBe(401);
  });
});

describe('PATCH /api/me/username', () => {
  it('renames, lower-cased, forgiving spaces and a leading @', async () => {
    const u = await s.user();
    const r = await s.request('PATCH', '/api/me/username', { token: u.token, body: { username: ' @New-Name ' } });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ success: true, username: 'new-name' });
    expect((await s.request('GET', '/api/me', { token: u.token })).body.username).toBe('new-name');
    // Keeping one's own name is not a conflict.
    expect((await s.request('PATCH', '/api/me/username', { token: u.token, body: { username: 'NEW-NAME' } })).status).toBe(200);
  });

  it('answers the first failed rule with 400', async () => {
    const u = await s.user();
    const cases: Array<[string, string]> = [
      ['ab', 'Username must be at least 3 characters'],
      ['a'.repeat(31), 'Username must be at most 30 characters'],
      ['bad name', 'Username can only contain letters, numbers, underscores and hyphens'],
      ['_abc', 'Username must start with a letter or number'],
      ['abc-', 'Username cannot end with an underscore or hyphen'],
      ['a__b', 'Username cannot contain consecutive underscores or hyphens'],
      ['Admin', 'This username is reserved'],
      ['', 'Username is required'],
    ];
    for (const [name, message] of cases) {
      const r = await s.request('PATCH', '/api/me/username', { token: u.token, body: { username: name } });
      expect(r.status, name).toBe(400);
      expect(r.body.error).toEqual({ code: 'BAD_REQUEST', message });
    }
    expect((await s.request('PATCH', '/api/me/username', { token: u.token, body: {} })).status).toBe(422);
    expect((await s.request('PATCH', '/api/me/username', { token: u.token, body: { username: 42 } })).status).toBe(422);
  });

  it("refuses another account's name, case-insensitively, with 409", async () => {
    const u = await s.user();
    const r = await s.request('PATCH', '/api/me/username', { token: u.token, body: { username: 'ALICE' } });
    expect(r.status).toBe(409);
    expect(r.body.error).toEqual({ code: 'CONFLICT', message: 'This username is already taken' });
    expect((await s.request('GET', '/api/me', { token: alice.token })).body.username).toBe('alice');
  });

  it('gives a contested name to exactly one of several concurrent takers; the rest get 409', async () => {
    const users = await Promise.all([1, 2, 3, 4, 5].map(() => s.user()));
    const rs = await Promise.all(users.map((u) => s.request('PATCH', '/api/me/username', { token: u.token, body: { username: 'contested' } })));
    expect(rs.map((r) => r.status).sort()).toEqual([200, 409, 409, 409, 409]);
    for (const r of rs.filter((x) => x.status === 409)) expect(r.body.error.message).toBe('This username is already taken');
    const [row] = await s.kernel.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM accounts WHERE slug = 'contested'`;
    expect(row!.n).toBe(1);
  });

  it('requires auth', async () => {
    expect((await s.request('PATCH', '/api/me/username', { token: null, body: { username: 'whoever' } })).status).toBe(401);
  });
});
