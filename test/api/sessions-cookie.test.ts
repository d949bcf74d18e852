import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '../harness.ts';

let a: TestServer;
let b: TestServer;
let alice: TestUser;
beforeAll(async () => {
  a = await startTestServer();
  b = await startTestServer({ attachTo: a });
  alice = await a.user('alice');
});
afterAll(async () => {
  await b.close();
  await a.close();
});

const COOKIE_RE = /^__Host-tp_session=([A-Za-z0-9_-]{43}); Path=\/; Secure; HttpOnly; SameSite=Strict; Max-Age=604800$/;

/** Plain fetch, as a browser would send it: the cookie and nothing else. */
async function withCookie(server: TestServer, method: string, path: string, cookie: string, headers: Record<string, string> = {}) {
  const res = await fetch(server.url + path, { method, headers: { cookie, ...headers }, redirect: 'manual' });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

async function signIn(server: TestServer, token: string) {
  const res = await fetch(server.url + '/auth/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
  expect(res.status).toBe(201);
  const setCookie = res.headers.get('set-cookie')!;
  const id = COOKIE_RE.exec(setCookie)![1]!;
  return { id, cookie: `__Host-tp_session=${id}`, body: (await res.json()) as { user: { id: string; username: string }; expires_at: string } };
}

describe('cookie sign-in, end to end', () => {
  it('PAT -> Set-Cookie -> the cookie works on both processes -> logout -> 401 on both', async () => {
    const before = Date.now();
    const s = await signIn(a, alice.token);
    expect(s.body.user).toEqual({ id: alice.id, username: 'alice' });
    const exp = new Date(s.body.expires_at).getTime();
    expect(exp).toBeGreaterThanOrEqual(before + 604800_000 - 1000);

    for (const server of [a, b]) {
      const me = await withCookie(server, 'GET', '/api/me', s.cookie);
      expect(me.status).toBe(200);
      expect(me.body.id).toBe(alice.id);
    }

    const out = await withCookie(a, 'POST', '/auth/logout', s.cookie);
    expect(out.status).toBe(200);
    expect(out.body).toEqual({ success: true });
    expect(out.headers.get('set-cookie')).toBe('__Host-tp_session=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0');

    for (const server of [a, b]) {
      const me = await withCookie(server, 'GET', '/api/me', s.cookie);
      expect(me.status).toBe(401);
      expect(me.body).toEqual({ error: { code: 'UNAUTHORIZED', message: 'Session expired' } });
    }
    // The PAT it came from is untouched.
    expect((await a.request('GET', '/api/me', { token: alice.token })).status).toBe(200);
  });

  it('signs in with the PAT as a bearer too, and /api/auth/logout ends the cookie session on both processes', async () => {
    const res = await fetch(b.url + '/auth/session', { method: 'POST', headers: { authorization: `Bearer ${alice.token}` } });
    expect(res.status).toBe(201);
    const id = COOKIE_RE.exec(res.headers.get('set-cookie')!)![1]!;
    const cookie = `__Host-tp_session=${id}`;
    expect((await withCookie(a, 'GET', '/api/auth/me', cookie)).body.user.username).toBe('alice');
    expect((await withCookie(b, 'GET', '/api/me/settings', cookie)).status).toBe(200);
    const out = await withCookie(b, 'POST', '/api/auth/logout', cookie);
    expect(out.body).toEqual({ success: true });
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0$/);
    expect((await withCookie(a, 'GET', '/api/me', cookie)).status).toBe(401);
    expect((await withCookie(b, 'GET', '/api/me', cookie)).status).toBe(401);
  });

  it('sessions are per sign-in: ending one leaves the others', async () => {
    const one = await signIn(a, alice.token);
    const two = await signIn(a, alice.token);
    expect(one.id).not.toBe(two.id);
    await withCookie(a, 'POST', '/auth/logout', one.cookie);
    expect((await withCookie(b, 'GET', '/api/me', two.cookie)).status).toBe(200);
    expect((await withCookie(b, 'GET', '/api/me', one.cookie)).status).toBe(401);
  });
});

describe('POST /auth/session refusals', () => {
  const post = (body?: unknown, headers: Record<string, string> = {}) =>
    a.request('POST', '/auth/session', { token: null, headers, ...(body !== undefined ? { body } : {}) });

  it('401 without a credential or with a bad one, and no cookie is set', async () => {
    const none = await post();
    expect(none.status).toBe(401);
    expect(none.body.error).toEqual({ code: 'UNAUTHORIZED', message: 'Authentication required' });
    const bad = await post({ token: 'tak_pat_' + 'z'.repeat(43) });
    expect(bad.status).toBe(401);
    expect(bad.body.error.message).toBe('Invalid or expired personal access token');
    expect(bad.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(bad.headers.get('set-cookie')).toBeNull();
    // A session id or any non-PAT credential cannot mint a session.
    const s = await signIn(a, alice.token);
    const fromSession = await post({ token: s.id });
    expect(fromSession.status).toBe(401);
    expect(fromSession.body.error.message).toBe('A personal access token (tak_pat_...) is required to sign in');
    expect((await post(undefined, { authorization: 'Basic abc' })).status).toBe(401);
  });

  it('a deleted or expired PAT cannot sign in', async () => {
    const c = await a.request('POST', '/api/me/personal-access-tokens', { token: alice.token, body: { name: 'to delete' } });
    await a.request('DELETE', `/api/me/personal-access-tokens/${c.body.id}`, { token: alice.token });
    expect((await post({ token: c.body.token })).status).toBe(401);
  });

  it('a scoped PAT cannot mint a full-access session (403)', async () => {
    const c = await a.request('POST', '/api/me/personal-access-tokens', { token: alice.token, body: { name: 'scoped', scopes: ['repos:read'] } });
    const r = await post({ token: c.body.token });
    expect(r.status).toBe(403);
    expect(r.headers.get('set-cookie')).toBeNull();
  });

  it('422 for malformed bodies', async () => {
    expect((await post({ token: 42 })).status).toBe(422);
    expect((await post({ token: alice.token, remember: true })).status).toBe(422);
    expect((await post({ token: '' })).status).toBe(422);
  });
});

describe('POST /auth/logout', () => {
  it('is idempotent and clears the cookie even without a session', async () => {
    const r = await a.request('POST', '/auth/logout', { token: null });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ success: true });
    expect(r.headers.get('set-cookie')).toMatch(/^__Host-tp_session=; .*Max-Age=0$/);
    const stale = await withCookie(a, 'POST', '/auth/logout', '__Host-tp_session=' + 'q'.repeat(43));
    expect(stale.status).toBe(200);
  });

  it('redirects a browser form post to / as the original did', async () => {
    const s = await signIn(a, alice.token);
    const r = await withCookie(a, 'POST', '/auth/logout', s.cookie, { accept: 'text/html,application/xhtml+xml' });
    expect(r.status).toBe(302);
    expect(r.headers.get('location')).toBe('/');
    expect(r.headers.get('set-cookie')).toMatch(/Max-Age=0$/);
    expect((await withCookie(b, 'GET', '/api/me', s.cookie)).status).toBe(401);
  });
});
