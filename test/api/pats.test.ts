import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../runtime/auth/pat.ts';
import { startTestServer, type TestServer, type TestUser } from '../harness.ts';

let s: TestServer;
let alice: TestUser;
beforeAll(async () => {
  s = await startTestServer();
  alice = await s.user('alice');
});
afterAll(() => s.close());

const PATH = '/api/me/personal-access-tokens';
const until = async (t: number) => {
  while (Date.now() <= t) await new Promise((r) => setTimeout(r, Math.max(1, t - Date.now() + 1)));
};

describe('create', () => {
  it('mints a full-access token that works at once and is shown only here', async () => {
    const r = await s.request('POST', PATH, { token: alice.token, body: { name: '  CLI token  ' } });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      id: expect.stringMatching(/^[a-z0-9]{12}$/), name: 'CLI token', token: expect.stringMatching(/^tak_pat_[A-Za-z0-9_-]{43}$/),
      token_prefix: r.body.token.slice(0, 12), scopes: '*', expires_at: null, created_at: expect.any(String),
    });
    expect((await s.request('GET', '/api/me', { token: r.body.token })).body.id).toBe(alice.id);
    const [row] = await s.kernel.sql<{ token_hash: string }[]>`SELECT token_hash FROM personal_access_tokens WHERE id = ${r.body.id}`;
    expect(row!.token_hash).toBe(hashToken(r.body.token));
  });

  it('stores scope lists as a JSON array string, from an array or a JSON string', async () => {
    const a = await s.request('POST', PATH, { token: alice.token, body: { name: 'a', scopes: ['repos:read', 'files:write', 'repos:read'] } });
    expect(a.status).toBe(201);
    expect(a.body.scopes).toBe('["repos:read","files:write"]');
    const b = await s.request('POST', PATH, { token: alice.token, body: { name: 'b', scopes: '["spaces:read"]' } });
    expect(b.body.scopes).toBe('["spaces:read"]');
    // Usable: on ordinary routes a PAT acts as its user whatever its scopes (spec 2.2).
    expect((await s.request('GET', '/api/me', { token: b.body.token })).status).toBe(200);
  });

  it('accepts a future expiry and answers it as ISO', async () => {
    const r = await s.request('POST', PATH, { token: alice.token, body: { name: 'x', expiresAt: '2999-01-01T09:00:00+09:00' } });
    expect(r.status).toBe(201);
    expect(r.body.expires_at).toBe('2999-01-01T00:00:00.000Z');
  });

  it('refuses what the original silently turned into unusable or never-expiring tokens, with 422', async () => {
    const bodies: unknown[] = [
      { name: 'x', scopes: 'files:read' }, // not "*" nor a JSON array: the original stored it and the token never worked
      { name: 'x', scopes: '["files:read","everything"]' },
      { name: 'x', scopes: [] },
      { name: 'x', scopes: [1, 2] },
      { name: 'x', expiresAt: 'next tuesday' }, // the original ignored it: a token that never expires
      { name: 'x', expiresAt: '2001-01-01T00:00:00Z' },
      { name: 'x', expires_at: '2999-01-01T00:00:00Z' }, // misspelt key would otherwise mean "never expires"
      {},
      { name: '   ' },
      { name: 'n'.repeat(101) },
    ];
    const before = (await s.kernel.sql`SELECT id FROM personal_access_tokens WHERE account_id = ${alice.id}`).length;
    for (const body of bodies) {
      const r = await s.request('POST', PATH, { token: alice.token, body });
      expect(r.status, JSON.stringify(body)).toBe(422);
      expect(r.body.error.code).toBe('VALIDATION_ERROR');
      expect(r.body.error.details.length).toBeGreaterThan(0);
    }
    const unknown = await s.request('POST', PATH, { token: alice.token, body: { name: 'x', scopes: ['everything'] } });
    expect(unknown.body.error.details[0].message).toContain('Unknown scope(s): everything');
    expect((await s.kernel.sql`SELECT id FROM personal_access_tokens WHERE account_id = ${alice.id}`).length).toBe(before);
    expect((await s.request('POST', PATH, { token: null, body: { name: 'x' } })).status).toBe(401);
  });
});

describe('list', () => {
  it('lists only your own tokens, newest first, without secrets', async () => {
    const u = await s.user();
    const other = await s.user();
    await s.request('POST', PATH, { token: other.token, body: { name: 'not yours' } });
    for (const name of ['first', 'second', 'third']) await s.request('POST', PATH, { token: u.token, body: { name } });
    const r = await s.request('GET', PATH, { token: u.token });
    expect(r.status).toBe(200);
    expect(r.body.tokens.map((t: { name: string }) => t.name)).toEqual(['third', 'second', 'first', 'issued by server admin']);
    for (const t of r.body.tokens) {
      expect(Object.keys(t).sort()).toEqual(['created_at', 'expires_at', 'id', 'last_used_at', 'name', 'scopes', 'token_prefix']);
    }
    expect((await s.request('GET', PATH, { token: null })).status).toBe(401);
  });
});

describe('last_used_at', () => {
  it('is written in batches, and the list flushes pending uses first', async () => {
    // A flush interval far longer than the test, so only the list's explicit flush can write it.
    const slow = await startTestServer({ attachTo: s, env: { PAT_TOUCH_FLUSH_MS: '600000' } });
    try {
      const u = await s.user();
      // Looked up in the database: listing through the API would itself use (and flush) the token.
      const [pat] = await s.kernel.sql<{ id: string }[]>`SELECT id FROM personal_access_tokens WHERE token_hash = ${hashToken(u.token)}`;
      const id = pat!.id;
      const before = Date.now();
      expect((await slow.request('GET', '/api/me', { token: u.token })).status).toBe(200);
      expect((await slow.request('GET', '/api/me', { token: u.token })).status).toBe(200);
      const [row] = await s.kernel.sql<{ last_used_at: Date | null }[]>`SELECT last_used_at FROM personal_access_tokens WHERE id = ${id}`;
      expect(row!.last_used_at).toBeNull();
      const list = await slow.request('GET', PATH, { token: u.token });
      const used = list.body.tokens.find((t: { id: string }) => t.id === id).last_used_at;
      expect(new Date(used).getTime()).toBeGreaterThanOrEqual(before - 1);
    } finally {
      await slow.close();
    }
  });
});

describe('delete', () => {
  it('deletes, and the token stops working; deleting again is 404', async () => {
    const c = await s.request('POST', PATH, { token: alice.token, body: { name: 'short-lived' } });
    expect((await s.request('GET', '/api/me', { token: c.body.token })).status).toBe(200);
    const d = await s.request('DELETE', `${PATH}/${c.body.id}`, { token: alice.token });
    expect(d.status).toBe(200);
    expect(d.body).toEqual({ success: true });
    const after = await s.request('GET', '/api/me', { token: c.body.token });
    expect(after.status).toBe(401);
    expect(after.body).toEqual({ error: { code: 'UNAUTHORIZED', message: 'Invalid or expired personal access token' } });
    expect(after.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    const again = await s.request('DELETE', `${PATH}/${c.body.id}`, { token: alice.token });
    expect(again.status).toBe(404);
    expect(again.body.error).toEqual({ code: 'NOT_FOUND', message: 'Token not found' });
  });

  it("cannot delete another user's token (404), which keeps working", async () => {
    const bob = await s.user();
    const c = await s.request('POST', PATH, { token: alice.token, body: { name: 'alice only' } });
    const r = await s.request('DELETE', `${PATH}/${c.body.id}`, { token: bob.token });
    expect(r.status).toBe(404);
    expect(r.body.error.message).toBe('Token not found');
    expect((await s.request('GET', '/api/me', { token: c.body.token })).body.id).toBe(alice.id);
    expect((await s.request('DELETE', `${PATH}/${c.body.id}`, { token: null })).status).toBe(401);
    expect((await s.request('DELETE', `${PATH}/bad.id`, { token: alice.token })).status).toBe(400);
  });

  it('a token deleted through one server is refused by the next request on another that had it cached', async () => {
    const b = await startTestServer({ attachTo: s });
    try {
      const c = await s.request('POST', PATH, { token: alice.token, body: { name: 'two servers' } });
      expect((await b.request('GET', '/api/me', { token: c.body.token })).status).toBe(200); // now cached on B
      expect(b.kernel.authCache.get(`pat:${hashToken(c.body.token)}`)).toMatchObject({ principal: { userId: alice.id } });
      expect((await s.request('DELETE', `${PATH}/${c.body.id}`, { token: alice.token })).status).toBe(200);
      const r = await b.request('GET', '/api/me', { token: c.body.token });
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    } finally {
      await b.close();
    }
  });
});

describe('expiry', () => {
  it('an expiring token stops working when it expires, although the server has it cached', async () => {
    const expiresAt = new Date(Date.now() + 1500);
    const c = await s.request('POST', PATH, { token: alice.token, body: { name: 'soon', expiresAt: expiresAt.toISOString() } });
    expect(c.status).toBe(201);
    expect((await s.request('GET', '/api/me', { token: c.body.token })).status).toBe(200);
    expect(s.kernel.authCache.get(`pat:${hashToken(c.body.token)}`)).toMatchObject({ expiresAt: expiresAt.getTime() });
    await until(expiresAt.getTime());
    const r = await s.request('GET', '/api/me', { token: c.body.token });
    expect(r.status).toBe(401);
    expect(r.body.error.message).toBe('Invalid or expired personal access token');
    expect(r.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
  });

  it('an expiry written straight into the database binds every cold cache at once, warm ones after an invalidation', async () => {
    const c = await s.request('POST', PATH, { token: alice.token, body: { name: 'edited in db' } });
    const key = `pat:${hashToken(c.body.token)}`;
    expect((await s.request('GET', '/api/me', { token: c.body.token })).status).toBe(200); // cached on s with "never expires"
    await s.kernel.sql`UPDATE personal_access_tokens SET expires_at = now() - interval '1 second' WHERE id = ${c.body.id}`;
    const cold = await startTestServer({ attachTo: s });
    try {
      expect((await cold.request('GET', '/api/me', { token: c.body.token })).status).toBe(401);
      // The cache keeps the expiry it read: an out-of-band edit is not seen by a warm process until it is told, which
      // is why every API path that changes a credential publishes an invalidation. (Bounded by AUTH_CACHE_TTL_MS.)
      expect((await s.request('GET', '/api/me', { token: c.body.token })).status).toBe(200);
      await cold.kernel.invalidateAuth({ t: 'key', key });
      expect((await s.request('GET', '/api/me', { token: c.body.token })).status).toBe(401);
    } finally {
      await cold.close();
    }
  });
});
