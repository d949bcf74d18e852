import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../harness.ts';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

describe('admin users', () => {
  it('creates a user whose token works at once', async () => {
    const r = await s.request('POST', '/api/admin/users', { body: { username: 'alice', email: 'alice@example.test' } });
    expect(r.status).toBe(201);
    expect(r.body.user).toMatchObject({ username: 'alice', email: 'alice@example.test', is_server_admin: false });
    expect(r.body.token).toMatch(/^tak_pat_[A-Za-z0-9_-]{43}$/);
    const list = await s.request('GET', '/api/admin/users');
    expect(list.body.users.map((u: { username: string }) => u.username)).toEqual(['admin', 'alice']);
  });

  it('refuses non-admins with 403 and anonymous callers with 401', async () => {
    const u = await s.user('bob');
    expect((await s.request('POST', '/api/admin/users', { token: u.token, body: { username: 'carol' } })).status).toBe(403);
    const anon = await s.request('GET', '/api/admin/users', { token: null });
    expect(anon.status).toBe(401);
    expect(anon.body).toEqual({ error: { code: 'UNAUTHORIZED', message: 'Authentication required' } });
  });

  it('rejects taken and invalid usernames without creating anything', async () => {
    expect((await s.request('POST', '/api/admin/users', { body: { username: 'alice' } })).status).toBe(409);
    const bad = await s.request('POST', '/api/admin/users', { body: { username: 'a--b' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toBe('Username cannot contain consecutive underscores or hyphens');
    const missing = await s.request('POST', '/api/admin/users', { body: {} });
    expect(missing.status).toBe(422);
    expect(missing.body.error.details[0]).toMatchObject({ in: 'body', path: 'username' });
  });
});

describe('two processes', () => {
  it('a second server on the same database sees users created through the first', async () => {
    const other = await (await import('../harness.ts')).startTestServer({ attachTo: s });
    try {
      const u = await s.user('dave');
      const r = await other.request('GET', '/api/admin/users', { token: s.admin.token });
      expect(r.status).toBe(200);
      expect(r.body.users.some((x: { username: string }) => x.username === u.username)).toBe(true);
    } finally {
      await other.close();
    }
  });
});
