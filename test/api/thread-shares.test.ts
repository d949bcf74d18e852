import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenKey } from '../../http/api/public-share/routes.ts';
import { hashSharePassword, verifySharePassword } from '../../http/api/threads/share-password.ts';
import { startTestServer, type TestServer } from '../harness.ts';
import { createThread, postMessage, roleSet } from './thread-fixtures.ts';

let s: TestServer;
let team: Awaited<ReturnType<typeof roleSet>>;
beforeAll(async () => {
  s = await startTestServer();
  team = await roleSet(s);
});
afterAll(() => s.close());

const share = (threadId: string, body: Record<string, unknown>, token = team.editor.token) => s.request('POST', `/api/threads/${threadId}/share`, { token, body });
const pub = (token: string) => s.request('GET', `/api/public/thread-shares/${token}`, { token: null });
const access = (token: string, body?: unknown) => s.request('POST', `/api/public/thread-shares/${token}/access`, { token: null, ...(body === undefined ? {} : { body }) });

async function sharedThread() {
  const id = await createThread(s, team.editor.token, team.spaceId, { title: 'shared' });
  await postMessage(s, team.editor.token, id, { role: 'user', content: 'question' });
  await postMessage(s, team.editor.token, id, { role: 'system', content: 'hidden system prompt' });
  await postMessage(s, team.editor.token, id, { role: 'tool', content: 'hidden tool output' });
  await postMessage(s, team.editor.token, id, { role: 'assistant', content: 'answer' });
  return id;
}

describe('create, list, revoke', () => {
  it('creates a public share with a 32-char token, a UUID id and links', async () => {
    const id = await sharedThread();
    const r = await share(id, {});
    expect(r.status).toBe(201);
    expect(r.body.password_required).toBe(false);
    expect(r.body.share).toMatchObject({ thread_id: id, space_id: team.spaceId, created_by: team.editor.id, mode: 'public', expires_at: null, revoked_at: null, last_accessed_at: null });
    expect(r.body.share.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(r.body.share.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(r.body.share).not.toHaveProperty('password_hash');
    expect(r.body.share_path).toBe(`/share/${r.body.share.token}`);
    expect(r.body.share_url).toBe(`${s.url}/share/${r.body.share.token}`);
  });

  it('validates mode, password, and expiry', async () => {
    const id = await sharedThread();
    const short = await share(id, { mode: 'password', password: '  1234567  ' });
    expect(short.status).toBe(400);
    expect(short.body.error.message).toBe('Password is required (min 8 characters)');
    expect((await share(id, { mode: 'password' })).status).toBe(400);
    expect((await share(id, { mode: 'pasword', password: 'long enough' })).status).toBe(422);
    expect((await share(id, { mode: 'public', password: 'long enough' })).status).toBe(400);
    for (const days of [0, -1, 366]) {
      const r = await share(id, { expires_in_days: days });
      expect(r.status).toBe(400);
      expect(r.body.error.message).toBe('expires_in_days must be between 1 and 365');
    }
    expect((await share(id, { expires_in_days: '7' })).status).toBe(422);
    expect((await share(id, { expires_at: 'not a date' })).body.error.message).toBe('Invalid expires_at');
    expect((await share(id, { expires_at: '2001-01-01T00:00:00Z' })).body.error.message).toBe('expires_at must be in the future');
    const days = await share(id, { expires_in_days: 7 });
    expect(Date.parse(days.body.share.expires_at) - Date.now()).toBeGreaterThan(6.9 * 86400_000);
    // expires_at wins over expires_in_days.
    const both = await share(id, { expires_at: '2099-01-02T03:04:05.000Z', expires_in_days: 400 });
    expect(both.status).toBe(201);
    expect(both.body.share.expires_at).toBe('2099-01-02T03:04:05.000Z');
    // A password without a mode means a password share, never a public one.
    const implied = await share(id, { password: 'correct horse' });
    expect(implied.body).toMatchObject({ password_required: true, share: { mode: 'password' } });
  });

  it('lists newest first with revoked ones; revoke is editor+, 404 when unknown or repeated', async () => {
    const id = await sharedThread();
    const a = (await share(id, {})).body.share;
    const b = (await share(id, { mode: 'password', password: 'password123' })).body.share;
    const list = await s.request('GET', `/api/threads/${id}/shares`, { token: team.viewer.token });
    expect(list.status).toBe(200);
    expect(list.body.shares.map((x: { id: string }) => x.id)).toEqual([b.id, a.id]);
    expect(list.body.shares[0].share_path).toBe(`/share/${b.token}`);
    expect(list.body.shares[0]).not.toHaveProperty('password_hash');

    expect((await s.request('POST', `/api/threads/${id}/shares/${a.id}/revoke`, { token: team.viewer.token })).status).toBe(404);
    const ok = await s.request('POST', `/api/threads/${id}/shares/${a.id}/revoke`, { token: team.editor.token });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ success: true });
    const again = await s.request('POST', `/api/threads/${id}/shares/${a.id}/revoke`, { token: team.editor.token });
    expect(again.status).toBe(404);
    expect(again.body.error.message).toBe('Share not found');
    expect((await s.request('POST', `/api/threads/${id}/shares/00000000-0000-4000-8000-000000000000/revoke`, { token: team.editor.token })).status).toBe(404);
    const bad = await s.request('POST', `/api/threads/${id}/shares/not-a-uuid/revoke`, { token: team.editor.token });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toBe('Invalid route parameter: shareId');
    // A share id only works under its own thread.
    const other = await sharedThread();
    expect((await s.request('POST', `/api/threads/${other}/shares/${b.id}/revoke`, { token: team.editor.token })).status).toBe(404);

    const after = await s.request('GET', `/api/threads/${id}/shares`, { token: team.viewer.token });
    expect(after.body.shares.find((x: { id: string }) => x.id === a.id).revoked_at).not.toBeNull();
    expect(after.body.shares.find((x: { id: string }) => x.id === b.id).revoked_at).toBeNull();
  });

  it('401 anonymous, 404 outsiders, viewers cannot share, deleted threads cannot be shared', async () => {
    const id = await sharedThread();
    expect((await share(id, {}, null as unknown as string)).status).toBe(401);
    expect((await share(id, {}, team.outsider.token)).status).toBe(404);
    expect((await share(id, {}, team.viewer.token)).status).toBe(404);
    expect((await s.request('GET', `/api/threads/${id}/shares`, { token: team.outsider.token })).status).toBe(404);
    expect((await s.request('GET', `/api/threads/${id}/shares`, { token: null })).status).toBe(401);
    expect((await s.request('GET', `/api/threads/${id}/shares`, { token: team.viewer.token })).body.shares).toEqual([]);
    await s.request('DELETE', `/api/threads/${id}`, { token: team.admin.token });
    expect((await share(id, {})).status).toBe(409);
  });
});

describe('public access', () => {
  it('reads a public share without credentials: user/assistant messages only, and records the access', async () => {
    const id = await sharedThread();
    const sh = (await share(id, {})).body.share;
    const r = await pub(sh.token);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      share: { mode: 'public', expires_at: null, created_at: sh.created_at },
      token: sh.token,
      thread: { id, title: 'shared' },
      total: 2,
      limit: 1000,
      offset: 0,
    });
    expect(r.body.messages.map((m: { role: string; content: string; sequence: number }) => [m.role, m.content, m.sequence])).toEqual([
      ['user', 'question', 0],
      ['assistant', 'answer', 3],
    ]);
    expect(Object.keys(r.body.messages[0]).sort()).toEqual(['content', 'created_at', 'id', 'role', 'sequence']);
    const list = await s.request('GET', `/api/threads/${id}/shares`, { token: team.editor.token });
    expect(list.body.shares[0].last_accessed_at).not.toBeNull();
    // Public shares open through /access too, with or without a body.
    expect((await access(sh.token)).status).toBe(200);
    expect((await access(sh.token, {})).body.messages).toHaveLength(2);
  });

  it('password shares: GET says 401, /access wants the right password (401 empty, 403 wrong)', async () => {
    const id = await sharedThread();
    const sh = (await share(id, { mode: 'password', password: ' open sesame ' })).body.share;
    const get = await pub(sh.token);
    expect(get.status).toBe(401);
    expect(get.body).toEqual({ error: { code: 'UNAUTHORIZED', message: 'Password required' } });
    expect((await access(sh.token, {})).status).toBe(401);
    const wrong = await access(sh.token, { password: 'open sesame!' });
    expect(wrong.status).toBe(403);
    expect(wrong.body.error.message).toBe('Invalid password');
    const ok = await access(sh.token, { password: 'open sesame' });
    expect(ok.status).toBe(200);
    expect(ok.body.share.mode).toBe('password');
    expect(ok.body.messages).toHaveLength(2);
    expect((await access(sh.token, { password: 42 })).status).toBe(422);
  });

  it('unknown, revoked, expired tokens and deleted threads are all 404; malformed tokens 400', async () => {
    const id = await sharedThread();
    const revoked = (await share(id, {})).body.share;
    await s.request('POST', `/api/threads/${id}/shares/${revoked.id}/revoke`, { token: team.editor.token });
    const expired = (await share(id, { expires_in_days: 1 })).body.share;
    await s.kernel.sql`UPDATE thread_shares SET expires_at = now() - interval '1 second' WHERE id = ${expired.id}`;
    const unknown = 'A'.repeat(32);
    for (const t of [revoked.token, expired.token, unknown]) {
      const r = await pub(t);
      expect(r.status).toBe(404);
      expect(r.body).toEqual({ error: { code: 'NOT_FOUND', message: 'Resource not found' } });
      expect((await access(t, { password: 'whatever1' })).status).toBe(404);
    }
    const live = (await share(id, {})).body.share;
    expect((await pub(live.token)).status).toBe(200);
    await s.request('DELETE', `/api/threads/${id}`, { token: team.admin.token });
    expect((await pub(live.token)).status).toBe(404);
    const bad = await pub('short');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toBe('Invalid route parameter: token');
  });

  it('pages the shared messages (max 1000)', async () => {
    const id = await sharedThread();
    const sh = (await share(id, {})).body.share;
    const r = await s.request('GET', `/api/public/thread-shares/${sh.token}?limit=1&offset=1`, { token: null });
    expect(r.body.messages.map((m: { content: string }) => m.content)).toEqual(['answer']);
    expect(r.body).toMatchObject({ total: 2, limit: 1, offset: 1 });
    expect((await s.request('GET', `/api/public/thread-shares/${sh.token}?limit=5000`, { token: null })).body.limit).toBe(1000);
  });
});

describe('rate limits (Redis, shared by every process)', () => {
  it('/access allows 5 calls per minute per token, successes included, across two processes, with Retry-After', async () => {
    const other = await startTestServer({ attachTo: s });
    try {
      const id = await sharedThread();
      const sh = (await share(id, { mode: 'password', password: 'hunter2hunter2' })).body.share;
      const second = (await share(id, { mode: 'password', password: 'hunter2hunter2' })).body.share;
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const via = i % 2 ? other : s;
        const body = { password: i === 2 ? 'hunter2hunter2' : 'wrong-guess' };
        statuses.push((await via.request('POST', `/api/public/thread-shares/${sh.token}/access`, { token: null, body })).status);
      }
      expect(statuses).toEqual([403, 403, 200, 403, 403]);
      // The sixth call is refused before the password is even checked (the right one too), on either process.
      for (const via of [s, other]) {
        const r = await via.request('POST', `/api/public/thread-shares/${sh.token}/access`, { token: null, body: { password: 'hunter2hunter2' } });
        expect(r.status).toBe(429);
        expect(r.body.error).toMatchObject({ code: 'RATE_LIMITED', message: 'Rate limit exceeded' });
        const retry = Number(r.headers.get('retry-after'));
        expect(retry).toBeGreaterThanOrEqual(1);
        expect(retry).toBeLessThanOrEqual(60);
      }
      // Another share's budget is its own.
      expect((await access(second.token, { password: 'hunter2hunter2' })).status).toBe(200);
    } finally {
      await other.close();
    }
  });

  it('the counter is a sliding window in Redis: once the oldest hit leaves it, a call is allowed again', async () => {
    const id = await sharedThread();
    const sh = (await share(id, {})).body.share;
    for (let i = 0; i < 5; i++) expect((await access(sh.token)).status).toBe(200);
    expect((await access(sh.token)).status).toBe(429);
    // Age the oldest recorded hit past the window instead of sleeping for a minute.
    const key = s.kernel.keys.rateLimit('share-access', tokenKey(sh.token));
    expect(key).not.toContain(sh.token); // tokens are hashed before they become key names
    expect(await s.kernel.redis.cmd.zcard(key)).toBe(5);
    const [oldest] = await s.kernel.redis.cmd.zrange(key, '0', '0');
    await s.kernel.redis.cmd.zadd(key, 0, oldest!);
    expect((await access(sh.token)).status).toBe(200);
    expect((await access(sh.token)).status).toBe(429);
  });
});

describe('password hashes', () => {
  it('scrypt with a random salt; verification is exact; malformed hashes never verify', async () => {
    const a = await hashSharePassword('correct horse');
    const b = await hashSharePassword('correct horse');
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(await verifySharePassword('correct horse', a)).toBe(true);
    expect(await verifySharePassword('correct horsE', a)).toBe(false);
    expect(await verifySharePassword('correct horse', 'pbkdf2$x')).toBe(false);
    expect(await verifySharePassword('correct horse', a.replace(/\$[^$]+$/, '$'))).toBe(false);
    const stored = await s.kernel.sql<{ password_hash: string }[]>`SELECT password_hash FROM thread_shares WHERE mode = 'password' LIMIT 1`;
    expect(stored[0]?.password_hash).toMatch(/^scrypt\$/);
  });
});
