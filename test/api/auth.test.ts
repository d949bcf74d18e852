import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../runtime/ids.ts';
import { startTestServer, type TestServer } from '../harness.ts';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

describe('GET /api/auth/me', () => {
  it('answers the user; a locally created user has no linked identities', async () => {
    const u = await s.user('carol', { name: 'Carol C' });
    const r = await s.request('GET', '/api/auth/me', { token: u.token });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ user: { email: 'carol@example.test', username: 'carol', display_name: 'Carol C', avatar_url: null, auth_identities: [] } });
    expect((await s.request('GET', '/api/auth/me', { token: null })).status).toBe(401);
  });

  it('lists the identities a sign-in provider linked, and only the caller\'s', async () => {
    const u = await s.user();
    const other = await s.user();
    await s.kernel.sql`INSERT INTO auth_identities (id, user_id, provider, provider_sub, email_snapshot) VALUES
      (${newId()}, ${u.id}, 'google', 'g-123', 'u@gmail.example'), (${newId()}, ${other.id}, 'google', 'g-456', 'o@gmail.example')`;
    const r = await s.request('GET', '/api/auth/me', { token: u.token });
    expect(r.body.user.auth_identities).toEqual([{ provider: 'google', email: 'u@gmail.example' }]);
  });
});

describe('POST /api/auth/setup-username', () => {
  it('sets a lower-case username without completing setup', async () => {
    const u = await s.user();
    await s.request('PATCH', '/api/me/settings', { token: u.token, body: { setup_completed: false } });
    const r = await s.request('POST', '/api/auth/setup-username', { token: u.token, body: { username: 'dave_2' } });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ success: true, username: 'dave_2' });
    expect((await s.request('GET', '/api/setup/status', { token: u.token })).body).toMatchObject({ username: 'dave_2', setup_completed: false });
  });

  it('applies its own rule (400), the reserved list (400), taken names (409), and 422 for malformed bodies', async () => {
    const u = await s.user('erin');
    const rule = 'Username must be 3-30 characters, lowercase alphanumeric, underscores or hyphens';
    for (const name of ['Erin2', 'ab', '-abc', 'a'.repeat(31), 'has space']) {
      const r = await s.request('POST', '/api/auth/setup-username', { token: u.token, body: { username: name } });
      expect(r.status, name).toBe(400);
      expect(r.body.error).toEqual({ code: 'BAD_REQUEST', message: rule });
    }
    const reserved = await s.request('POST', '/api/auth/setup-username', { token: u.token, body: { username: 'admin' } });
    expect(reserved.status).toBe(400);
    expect(reserved.body.error.message).toBe('This username is reserved');
    await s.user('frank');
    const taken = await s.request('POST', '/api/auth/setup-username', { token: u.token, body: { username: 'frank' } });
    expect(taken.status).toBe(409);
    expect(taken.body.error).toEqual({ code: 'CONFLICT', message: 'Username already taken' });
    expect((await s.request('POST', '/api/auth/setup-username', { token: u.token, body: {} })).status).toBe(422);
    expect((await s.request('POST', '/api/auth/setup-username', { token: u.token, body: { username: ['x'] } })).status).toBe(422);
    expect((await s.request('GET', '/api/me', { token: u.token })).body.username).toBe('erin');
    expect((await s.request('POST', '/api/auth/setup-username', { token: null, body: { username: 'abc' } })).status).toBe(401);
  });
});

describe('PATCH /api/auth/profile', () => {
  it('updates display name and avatar; an empty avatar removes it', async () => {
    const u = await s.user();
    const r = await s.request('PATCH', '/api/auth/profile', { token: u.token, body: { display_name: ' Gina G ', avatar_url: 'https://img.example.test/g.png' } });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ success: true });
    expect((await s.request('GET', '/api/me', { token: u.token })).body).toMatchObject({ name: 'Gina G', picture: 'https://img.example.test/g.png' });
    await s.request('PATCH', '/api/auth/profile', { token: u.token, body: { display_name: 'Gina' } });
    expect((await s.request('GET', '/api/auth/me', { token: u.token })).body.user).toMatchObject({ display_name: 'Gina', avatar_url: 'https://img.example.test/g.png' });
    await s.request('PATCH', '/api/auth/profile', { token: u.token, body: { avatar_url: '' } });
    expect((await s.request('GET', '/api/auth/me', { token: u.token })).body.user).toMatchObject({ display_name: 'Gina', avatar_url: null });
  });

  it('refuses non-https avatars and empty updates with 400, malformed bodies with 422', async () => {
    const u = await s.user();
    for (const avatar_url of ['http://img.example.test/a.png', 'javascript:alert(1)', 'data:image/png;base64,AAAA', 'not a url', 'https://user:pw@x.test/a.png']) {
      const r = await s.request('PATCH', '/api/auth/profile', { token: u.token, body: { avatar_url } });
      expect(r.status, avatar_url).toBe(400);
      expect(r.body.error.message).toBe('Invalid avatar URL. Must be a valid HTTPS URL.');
    }
    const none = await s.request('PATCH', '/api/auth/profile', { token: u.token, body: {} });
    expect(none.status).toBe(400);
    expect(none.body.error).toEqual({ code: 'BAD_REQUEST', message: 'No updates provided' });
    for (const body of [{ display_name: 5 }, { display_name: '' }, { displayName: 'x' }, { display_name: 'x'.repeat(101) }]) {
      expect((await s.request('PATCH', '/api/auth/profile', { token: u.token, body })).status, JSON.stringify(body)).toBe(422);
    }
    expect((await s.request('GET', '/api/me', { token: u.token })).body.picture).toBeNull();
    expect((await s.request('PATCH', '/api/auth/profile', { token: null, body: { display_name: 'x' } })).status).toBe(401);
  });
});

describe('POST /api/auth/logout', () => {
  it('always succeeds; a PAT caller keeps its token (there is no session to end)', async () => {
    const u = await s.user();
    const anon = await s.request('POST', '/api/auth/logout', { token: null });
    expect(anon.status).toBe(200);
    expect(anon.body).toEqual({ success: true });
    expect((await s.request('POST', '/api/auth/logout', { token: 'tak_pat_' + 'y'.repeat(43) })).body).toEqual({ success: true });
    expect((await s.request('POST', '/api/auth/logout', { token: u.token })).body).toEqual({ success: true });
    expect((await s.request('GET', '/api/me', { token: u.token })).status).toBe(200);
  });

  it('ends the web session that authenticated it (session id as bearer, as the CLI sends it)', async () => {
    const u = await s.user();
    const signIn = await s.request('POST', '/auth/session', { token: u.token });
    const sid = /__Host-tp_session=([^;]+)/.exec(signIn.headers.get('set-cookie')!)![1]!;
    expect((await s.request('GET', '/api/me', { token: sid })).body.id).toBe(u.id);
    const r = await s.request('POST', '/api/auth/logout', { token: sid });
    expect(r.body).toEqual({ success: true });
    expect(r.headers.get('set-cookie')).toBeNull();
    const after = await s.request('GET', '/api/me', { token: sid });
    expect(after.status).toBe(401);
    expect(after.body.error.message).toBe('Session expired');
  });
});
