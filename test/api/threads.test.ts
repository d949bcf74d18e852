import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../harness.ts';
import { createThread, postMessage, roleSet } from './thread-fixtures.ts';

let s: TestServer;
let team: Awaited<ReturnType<typeof roleSet>>;
beforeAll(async () => {
  s = await startTestServer();
  team = await roleSet(s);
});
afterAll(() => s.close());

describe('create and read threads', () => {
  it('creates a thread with the defaults and reads it back with the caller role', async () => {
    const r = await s.request('POST', `/api/spaces/${team.spaceId}/threads`, { token: team.editor.token, body: { title: '  debug  ', locale: 'ja' } });
    expect(r.status).toBe(201);
    expect(r.body.thread).toMatchObject({
      space_id: team.spaceId,
      title: 'debug',
      locale: 'ja',
      status: 'active',
      summary: null,
      key_points: '[]',
      retrieval_index: -1,
      context_window: 50,
    });
    expect(r.body.thread.id).toMatch(/^[a-z0-9]{12}$/);
    expect(r.body.thread.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const got = await s.request('GET', `/api/threads/${r.body.thread.id}`, { token: team.viewer.token });
    expect(got.status).toBe(200);
    expect(got.body).toEqual({ thread: r.body.thread, role: 'viewer' });
  });

  it('works in the personal space through "me", and blank titles become null', async () => {
    const u = await s.user();
    const r = await s.request('POST', '/api/spaces/me/threads', { token: u.token, body: { title: '   ' } });
    expect(r.status).toBe(201);
    expect(r.body.thread).toMatchObject({ space_id: u.id, title: null, locale: null });
    const none = await s.request('POST', '/api/spaces/me/threads', { token: u.token });
    expect(none.status).toBe(201);
  });

  it('answers 401 without credentials and 404 to non-members, creating nothing', async () => {
    expect((await s.request('POST', `/api/spaces/${team.spaceId}/threads`, { token: null, body: {} })).status).toBe(401);
    expect((await s.request('GET', `/api/spaces/${team.spaceId}/threads`, { token: null })).status).toBe(401);
    const out = await s.request('POST', `/api/spaces/${team.spaceId}/threads`, { token: team.outsider.token, body: { title: 'x' } });
    expect(out.status).toBe(404);
    expect(out.body).toEqual({ error: { code: 'NOT_FOUND', message: 'Space not found' } });
    expect((await s.request('GET', `/api/spaces/${team.spaceId}/threads`, { token: team.outsider.token })).status).toBe(404);
    const id = await createThread(s, team.owner.token, team.spaceId);
    for (const [m, p] of [['GET', ''], ['PATCH', ''], ['DELETE', ''], ['POST', '/archive'], ['POST', '/unarchive']] as const) {
      const r = await s.request(m, `/api/threads/${id}${p}`, { token: team.outsider.token, ...(m === 'PATCH' ? { body: { title: 'x' } } : {}) });
      expect(r.status, `${m} ${p}`).toBe(404);
      expect(r.body.error.message).toBe('Thread not found');
    }
    expect((await s.request('GET', `/api/threads/${id}`, { token: null })).status).toBe(401);
    expect((await s.request('GET', '/api/threads/nosuchthread1', { token: team.owner.token })).body.error.message).toBe('Thread not found');
  });

  it('viewers cannot create threads (404 like the original)', async () => {
    const r = await s.request('POST', `/api/spaces/${team.spaceId}/threads`, { token: team.viewer.token, body: { title: 'nope' } });
    expect(r.status).toBe(404);
    const list = await s.request('GET', `/api/spaces/${team.spaceId}/threads`, { token: team.viewer.token });
    expect(list.body.threads.some((t: { title: string }) => t.title === 'nope')).toBe(false);
  });

  it('validates bodies (422) and route parameters (400)', async () => {
    const bad = await s.request('POST', `/api/spaces/${team.spaceId}/threads`, { token: team.editor.token, body: { locale: 'fr' } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe('VALIDATION_ERROR');
    expect(bad.body.error.details[0]).toMatchObject({ in: 'body', path: 'locale' });
    expect((await s.request('POST', `/api/spaces/${team.spaceId}/threads`, { token: team.editor.token, body: { title: 'x'.repeat(201) } })).status).toBe(422);
    expect((await s.request('POST', `/api/spaces/${team.spaceId}/threads`, { token: team.editor.token, body: '{"title":', raw: true, headers: { 'content-type': 'application/json' } })).status).toBe(400);
    const p = await s.request('GET', '/api/threads/bad$id', { token: team.editor.token });
    expect(p.status).toBe(400);
    expect(p.body.error.message).toBe('Invalid route parameter: id');
    expect((await s.request('GET', `/api/threads/${'a'.repeat(129)}`, { token: team.editor.token })).status).toBe(400);
    expect((await s.request('GET', '/api/spaces/bad!space/threads', { token: team.editor.token })).status).toBe(400);
  });
});

describe('list', () => {
  it('lists newest activity first, hides deleted threads unless asked, filters by status and pages', async () => {
    const u = await s.user();
    const a = await createThread(s, u.token, 'me', { title: 'a' });
    const b = await createThread(s, u.token, 'me', { title: 'b' });
    const c = await createThread(s, u.token, 'me', { title: 'c' });
    await postMessage(s, u.token, a, { role: 'user', content: 'bump' }); // a becomes the most recently active
    expect((await s.request('POST', `/api/threads/${b}/archive`, { token: u.token })).body).toEqual({ success: true });
    expect((await s.request('DELETE', `/api/threads/${c}`, { token: u.token })).body).toEqual({ success: true });

    const all = await s.request('GET', '/api/spaces/me/threads', { token: u.token });
    expect(all.status).toBe(200);
    expect(all.body.threads.map((t: { id: string }) => t.id)).toEqual([b, a]);
    expect(all.body).toMatchObject({ total: 2, limit: 200, offset: 0 });
    const archived = await s.request('GET', '/api/spaces/me/threads?status=archived', { token: u.token });
    expect(archived.body.threads.map((t: { id: string }) => t.id)).toEqual([b]);
    const deleted = await s.request('GET', '/api/spaces/me/threads?status=deleted', { token: u.token });
    expect(deleted.body.threads.map((t: { id: string }) => t.id)).toEqual([c]);
    expect((await s.request('GET', '/api/spaces/me/threads?status=bogus', { token: u.token })).status).toBe(422);
    expect((await s.request('GET', '/api/spaces/me/threads?status=', { token: u.token })).body.total).toBe(2);

    const page = await s.request('GET', '/api/spaces/me/threads?limit=1&offset=1', { token: u.token });
    expect(page.body.threads.map((t: { id: string }) => t.id)).toEqual([a]);
    expect(page.body).toMatchObject({ total: 2, limit: 1, offset: 1 });
    expect((await s.request('GET', '/api/spaces/me/threads?limit=100000', { token: u.token })).body.limit).toBe(500);
    expect((await s.request('GET', '/api/spaces/me/threads?limit=-3&offset=x', { token: u.token })).body).toMatchObject({ limit: 200, offset: 0 });
  });
});

describe('update, archive, delete', () => {
  it('patches fields; empty title becomes null; nothing to update is 400; out-of-range window is 422', async () => {
    const id = await createThread(s, team.editor.token, team.spaceId, { title: 'old' });
    const r = await s.request('PATCH', `/api/threads/${id}`, { token: team.editor.token, body: { title: 'new', locale: 'en', context_window: 120 } });
    expect(r.status).toBe(200);
    expect(r.body.thread).toMatchObject({ title: 'new', locale: 'en', context_window: 120 });
    expect(Date.parse(r.body.thread.updated_at)).toBeGreaterThan(Date.parse(r.body.thread.created_at));
    const cleared = await s.request('PATCH', `/api/threads/${id}`, { token: team.editor.token, body: { title: '', locale: null } });
    expect(cleared.body.thread).toMatchObject({ title: null, locale: null });
    const nothing = await s.request('PATCH', `/api/threads/${id}`, { token: team.editor.token, body: { unknown: 1 } });
    expect(nothing.status).toBe(400);
    expect(nothing.body.error.message).toBe('No valid updates provided');
    for (const cw of [19, 201, 50.5, '60']) {
      expect((await s.request('PATCH', `/api/threads/${id}`, { token: team.editor.token, body: { context_window: cw } })).status).toBe(422);
    }
    expect((await s.request('PATCH', `/api/threads/${id}`, { token: team.editor.token, body: { status: 'gone' } })).status).toBe(422);
    const after = await s.request('GET', `/api/threads/${id}`, { token: team.editor.token });
    expect(after.body.thread.context_window).toBe(120);
  });

  it('viewers cannot patch, archive or unarchive; editors cannot delete', async () => {
    const id = await createThread(s, team.editor.token, team.spaceId, { title: 'keep' });
    expect((await s.request('PATCH', `/api/threads/${id}`, { token: team.viewer.token, body: { title: 'hacked' } })).status).toBe(404);
    expect((await s.request('POST', `/api/threads/${id}/archive`, { token: team.viewer.token })).status).toBe(404);
    expect((await s.request('POST', `/api/threads/${id}/unarchive`, { token: team.viewer.token })).status).toBe(404);
    expect((await s.request('DELETE', `/api/threads/${id}`, { token: team.editor.token })).status).toBe(404);
    expect((await s.request('DELETE', `/api/threads/${id}`, { token: team.viewer.token })).status).toBe(404);
    const t = await s.request('GET', `/api/threads/${id}`, { token: team.viewer.token });
    expect(t.body.thread).toMatchObject({ title: 'keep', status: 'active' });
  });

  it('archive and unarchive flip the status; admins soft-delete and the thread stays readable', async () => {
    const id = await createThread(s, team.editor.token, team.spaceId);
    expect((await s.request('POST', `/api/threads/${id}/archive`, { token: team.editor.token })).status).toBe(200);
    expect((await s.request('GET', `/api/threads/${id}`, { token: team.viewer.token })).body.thread.status).toBe('archived');
    expect((await s.request('POST', `/api/threads/${id}/unarchive`, { token: team.editor.token })).status).toBe(200);
    expect((await s.request('GET', `/api/threads/${id}`, { token: team.viewer.token })).body.thread.status).toBe('active');
    const del = await s.request('DELETE', `/api/threads/${id}`, { token: team.admin.token });
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ success: true });
    const t = await s.request('GET', `/api/threads/${id}`, { token: team.viewer.token });
    expect(t.status).toBe(200);
    expect(t.body.thread.status).toBe('deleted');
  });

  it('a deleted thread cannot be unarchived by an editor, nor un-deleted through PATCH by one; an admin can restore it', async () => {
    const id = await createThread(s, team.editor.token, team.spaceId);
    expect((await s.request('DELETE', `/api/threads/${id}`, { token: team.owner.token })).status).toBe(200);
    const un = await s.request('POST', `/api/threads/${id}/unarchive`, { token: team.editor.token });
    expect(un.status).toBe(409);
    expect(un.body.error.message).toBe('Thread is deleted');
    expect((await s.request('PATCH', `/api/threads/${id}`, { token: team.editor.token, body: { status: 'active' } })).status).toBe(403);
    const live = await createThread(s, team.editor.token, team.spaceId);
    expect((await s.request('PATCH', `/api/threads/${live}`, { token: team.editor.token, body: { status: 'deleted' } })).status).toBe(403);
    const restored = await s.request('PATCH', `/api/threads/${id}`, { token: team.admin.token, body: { status: 'active' } });
    expect(restored.status).toBe(200);
    expect(restored.body.thread.status).toBe('active');
  });
});

describe('space search', () => {
  it('finds messages by substring across the live threads of the space, newest first, with snippets', async () => {
    const u = await s.user();
    const t1 = await createThread(s, u.token, 'me', { title: 'one' });
    const t2 = await createThread(s, u.token, 'me', { title: 'two' });
    const gone = await createThread(s, u.token, 'me', { title: 'gone' });
    await postMessage(s, u.token, t1, { role: 'user', content: `${'x'.repeat(200)} the Needle here ${'y'.repeat(200)}` });
    await postMessage(s, u.token, t2, { role: 'assistant', content: '日本語の針（needle）を探す' });
    await postMessage(s, u.token, t2, { role: 'user', content: '100% sure' });
    await postMessage(s, u.token, gone, { role: 'user', content: 'needle in a deleted thread' });
    await s.request('DELETE', `/api/threads/${gone}`, { token: u.token });

    const r = await s.request('GET', '/api/spaces/me/threads/search?q=needle', { token: u.token });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ query: 'needle', type: 'all', limit: 20, offset: 0, semantic_available: false });
    expect(r.body.results.map((x: { thread: { id: string } }) => x.thread.id)).toEqual([t2, t1]);
    const hit = r.body.results[1];
    expect(hit.kind).toBe('keyword');
    expect(hit.message).toMatchObject({ sequence: 0, role: 'user' });
    expect(hit.snippet.startsWith('\u2026')).toBe(true);
    expect(hit.snippet.endsWith('\u2026')).toBe(true);
    expect(hit.snippet.slice(hit.match.start, hit.match.end)).toBe('Needle');

    const ja = await s.request('GET', `/api/spaces/me/threads/search?q=${encodeURIComponent('日本語の針')}`, { token: u.token });
    expect(ja.body.results).toHaveLength(1);
    expect(ja.body.results[0].match).toEqual({ start: 0, end: 5 });
    // LIKE wildcards are literal: "%" matches only a percent sign.
    const pct = await s.request('GET', `/api/spaces/me/threads/search?q=${encodeURIComponent('0%')}`, { token: u.token });
    expect(pct.body.results.map((x: { snippet: string }) => x.snippet)).toEqual(['100% sure']);
    expect((await s.request('GET', `/api/spaces/me/threads/search?q=_`, { token: u.token })).body.results).toEqual([]);
    expect((await s.request('GET', '/api/spaces/me/threads/search?q=needle&type=semantic', { token: u.token })).body.results).toEqual([]);
    expect((await s.request('GET', '/api/spaces/me/threads/search?q=needle&type=KEYWORD', { token: u.token })).body.type).toBe('keyword');
  });

  it('pages and clamps (default 20, max 100); requires q; refuses outsiders', async () => {
    const u = await s.user();
    const t = await createThread(s, u.token, 'me');
    for (let i = 0; i < 3; i++) await postMessage(s, u.token, t, { role: 'user', content: `match ${i}` });
    const p = await s.request('GET', '/api/spaces/me/threads/search?q=match&limit=1&offset=1', { token: u.token });
    expect(p.body.results.map((x: { snippet: string }) => x.snippet)).toEqual(['match 1']);
    expect((await s.request('GET', '/api/spaces/me/threads/search?q=match&limit=999', { token: u.token })).body.limit).toBe(100);
    expect((await s.request('GET', '/api/spaces/me/threads/search?q=match&limit=0', { token: u.token })).body.limit).toBe(20);
    const noQ = await s.request('GET', '/api/spaces/me/threads/search?q=%20', { token: u.token });
    expect(noQ.status).toBe(400);
    expect(noQ.body.error.message).toBe('q is required');
    expect((await s.request('GET', '/api/spaces/me/threads/search?q=a&type=vector', { token: u.token })).status).toBe(422);
    expect((await s.request('GET', `/api/spaces/${team.spaceId}/threads/search?q=a`, { token: team.outsider.token })).status).toBe(404);
    expect((await s.request('GET', `/api/spaces/${team.spaceId}/threads/search?q=a`, { token: null })).status).toBe(401);
  });
});

describe('export', () => {
  it('exports markdown by default and JSON on request, with only user/assistant messages for members', async () => {
    const id = await createThread(s, team.editor.token, team.spaceId, { title: 'Plan: ship it' });
    await postMessage(s, team.editor.token, id, { role: 'user', content: 'hello' });
    await postMessage(s, team.editor.token, id, { role: 'system', content: 'SECRET system prompt' });
    await postMessage(s, team.editor.token, id, { role: 'assistant', content: 'hi there' });

    const md = await s.request('GET', `/api/threads/${id}/export`, { token: team.viewer.token });
    expect(md.status).toBe(200);
    expect(md.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
    expect(md.headers.get('content-disposition')).toContain(`filename="Plan-ship-it-${id}.md"`);
    expect(md.headers.get('cache-control')).toBe('no-store');
    expect(md.text).toContain('# Plan: ship it');
    expect(md.text).toContain('### #0 [user]');
    expect(md.text).toContain('hi there');
    expect(md.text).not.toContain('SECRET');

    const js = await s.request('GET', `/api/threads/${id}/export?format=json&include_internal=1`, { token: team.editor.token });
    expect(js.headers.get('content-disposition')).toContain('.json"');
    expect(js.body.thread).toMatchObject({ id, title: 'Plan: ship it' });
    expect(js.body.messages.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant']);

    const internal = await s.request('GET', `/api/threads/${id}/export?format=md&include_internal=1`, { token: team.admin.token });
    expect(internal.text).toContain('SECRET system prompt');
  });

  it('refuses pdf and unknown formats with 400, outsiders with 404, deleted threads with 404', async () => {
    const id = await createThread(s, team.editor.token, team.spaceId);
    const pdf = await s.request('GET', `/api/threads/${id}/export?format=pdf`, { token: team.editor.token });
    expect(pdf.status).toBe(400);
    expect(pdf.body.error.message).toContain('PDF export is not supported');
    expect((await s.request('GET', `/api/threads/${id}/export?format=docx`, { token: team.editor.token })).status).toBe(400);
    expect((await s.request('GET', `/api/threads/${id}/export`, { token: team.outsider.token })).status).toBe(404);
    expect((await s.request('GET', `/api/threads/${id}/export`, { token: null })).status).toBe(401);
    await s.request('DELETE', `/api/threads/${id}`, { token: team.admin.token });
    expect((await s.request('GET', `/api/threads/${id}/export`, { token: team.editor.token })).status).toBe(404);
  });
});

describe('access edge cases', () => {
  it('a space whose slug spells another space id gains no access to that space threads', async () => {
    const victim = await s.user();
    const victimThread = await createThread(s, victim.token, 'me', { title: 'private' });
    const victimSpace = (await s.request('GET', `/api/threads/${victimThread}`, { token: victim.token })).body.thread.space_id as string;
    const attacker = await s.user();
    // A team whose slug equals the victim's space id (a 32-hex user id is a valid slug).
    await s.kernel.sql`INSERT INTO accounts (id, type, name, slug) VALUES ('attackerteam1', 'team', 'x', ${victimSpace})`;
    await s.kernel.sql`INSERT INTO account_memberships (id, account_id, member_id, role) VALUES ('attmember001', 'attackerteam1', ${attacker.id}, 'owner')`;
    expect((await s.request('GET', `/api/threads/${victimThread}`, { token: attacker.token })).status).toBe(404);
    expect((await s.request('GET', `/api/threads/${victimThread}/messages`, { token: attacker.token })).status).toBe(404);
  });
});
