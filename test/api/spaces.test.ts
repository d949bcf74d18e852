import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '../harness.ts';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

type Space = { id: string; slug: string; name: string; kind: string; role?: string; default_repository_id: string | null };

async function createSpace(u: TestUser, body: Record<string, unknown>): Promise<{ space: Space; repository: { id: string; name: string } }> {
  const r = await s.request('POST', '/api/spaces', { token: u.token, body });
  expect(r.status, r.text).toBe(201);
  return r.body;
}

async function addMember(owner: TestUser, spaceId: string, u: TestUser, role: string) {
  const r = await s.request('POST', `/api/spaces/${spaceId}/members`, { token: owner.token, body: { username: u.username, role } });
  expect(r.status, r.text).toBe(201);
}

/** Every route of the family with a body that would be valid, for the 401 / 404 / 400 sweeps. */
const ROUTES: Array<[string, string, unknown?]> = [
  ['GET', ''],
  ['PATCH', '', { name: 'x' }],
  ['DELETE', ''],
  ['GET', '/export'],
  ['GET', '/model'],
  ['PATCH', '/model', { model: 'gpt-x' }],
  ['GET', '/sidebar-items'],
];

describe('POST /api/spaces', () => {
  it('creates a team space with its owner membership and default repository', async () => {
    const u = await s.user();
    const r = await s.request('POST', '/api/spaces', { token: u.token, body: { name: 'Research Lab', description: 'papers' } });
    expect(r.status).toBe(201);
    expect(r.body.space).toMatchObject({ name: 'Research Lab', slug: 'research-lab', kind: 'team', description: 'papers', owner_id: u.id, is_personal: false });
    expect(r.body.space.id).toMatch(/^[a-z0-9]{12}$/);
    expect(r.body.repository).toEqual({ id: expect.stringMatching(/^[a-z0-9]{12}$/), name: 'default' });
    expect(r.body.space.default_repository_id).toBe(r.body.repository.id);
    expect(r.body.space.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const [m] = await s.kernel.sql`SELECT role FROM account_memberships WHERE account_id = ${r.body.space.id} AND member_id = ${u.id}`;
    expect(m!.role).toBe('owner');
    const repos = await s.kernel.sql`SELECT id, name FROM repositories WHERE account_id = ${r.body.space.id}`;
    expect(repos).toEqual([{ id: r.body.repository.id, name: 'default' }]);
    const got = await s.request('GET', `/api/spaces/${r.body.space.id}`, { token: u.token });
    expect(got.body.role).toBe('owner');
  });

  it('derives unique slugs from names, sharing the namespace with usernames and skipping reserved words', async () => {
    const u = await s.user();
    const taken = await s.user('cosmos');
    expect(taken.username).toBe('cosmos');
    expect((await createSpace(u, { name: 'Cosmos' })).space.slug).toBe('cosmos-2');
    expect((await createSpace(u, { name: 'cosmos' })).space.slug).toBe('cosmos-3');
    expect((await createSpace(u, { name: 'Me' })).space.slug).toBe('me-2');
    expect((await createSpace(u, { name: 'Admin' })).space.slug).toBe('admin-2');
    const long = await createSpace(u, { name: 'A very long team name that goes past thirty two chars' });
    expect(long.space.slug).toBe('a-very-long-team-name-that-goes');
    const long2 = await createSpace(u, { name: 'A very long team name that goes past thirty two chars' });
    expect(long2.space.slug).toBe('a-very-long-team-name-that-goe-2');
    expect(long2.space.slug.length).toBeLessThanOrEqual(32);
    const jp = await createSpace(u, { name: '開発チーム' });
    expect(jp.space.name).toBe('開発チーム');
    expect(jp.space.slug).toMatch(/^space-[a-z0-9]{6}$/);
  });

  it('takes an explicit slug (lower-cased) and answers 409 when it is taken', async () => {
    const u = await s.user();
    expect((await createSpace(u, { name: 'X', slug: 'Explicit-Slug' })).space.slug).toBe('explicit-slug');
    const dup = await s.request('POST', '/api/spaces', { token: u.token, body: { name: 'Y', slug: 'explicit-slug' } });
    expect(dup.status).toBe(409);
    expect(dup.body.error).toEqual({ code: 'CONFLICT', message: 'This slug is already taken' });
    const user = await s.request('POST', '/api/spaces', { token: u.token, body: { name: 'Y', slug: u.username } });
    expect(user.status).toBe(409);
  });

  it('rejects malformed bodies with 422 and stores nothing', async () => {
    const u = await s.user();
    const before = await s.kernel.sql`SELECT count(*)::int AS n FROM accounts WHERE type = 'team'`;
    for (const body of [{}, { name: '' }, { name: '   ' }, { name: 5 }, { name: 'x'.repeat(101) }, { name: 'ok', slug: 'Bad Slug' }, { name: 'ok', slug: '-x' }, { name: 'ok', slug: 'me' }, { name: 'ok', slug: 'x'.repeat(33) }, { name: 'ok', description: 7 }]) {
      const r = await s.request('POST', '/api/spaces', { token: u.token, body });
      expect(r.status, JSON.stringify(body)).toBe(422);
      expect(r.body.error.code).toBe('VALIDATION_ERROR');
    }
    const reserved = await s.request('POST', '/api/spaces', { token: u.token, body: { name: 'ok', slug: 'spaces' } });
    expect(reserved.body.error.details[0]).toMatchObject({ in: 'body', path: 'slug', message: 'This slug is reserved' });
    const badJson = await s.request('POST', '/api/spaces', { token: u.token, body: '{"name":', raw: true, headers: { 'content-type': 'application/json' } });
    expect(badJson.status).toBe(400);
    const after = await s.kernel.sql`SELECT count(*)::int AS n FROM accounts WHERE type = 'team'`;
    expect(after[0]!.n).toBe(before[0]!.n);
  });

  it('answers 413 to an oversize body', async () => {
    const u = await s.user();
    const r = await s.request('POST', '/api/spaces', { token: u.token, body: { name: 'big', description: 'x'.repeat(1024 * 1024 + 10) } });
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('requires authentication', async () => {
    const r = await s.request('POST', '/api/spaces', { token: null, body: { name: 'x' } });
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ error: { code: 'UNAUTHORIZED', message: 'Authentication required' } });
  });
});

describe('concurrent creates', () => {
  it('same name at once: every create succeeds with a distinct slug, never a 500', async () => {
    const u = await s.user();
    const rs = await Promise.all(Array.from({ length: 8 }, () => s.request('POST', '/api/spaces', { token: u.token, body: { name: 'Race Team' } })));
    expect(rs.map((r) => r.status)).toEqual(Array(8).fill(201));
    const slugs = rs.map((r) => r.body.space.slug).sort();
    expect(new Set(slugs).size).toBe(8);
    expect(slugs).toContain('race-team');
    for (const slug of slugs) expect(slug).toMatch(/^race-team(-[2-9])?$/);
    const rows = await s.kernel.sql`SELECT count(*)::int AS n FROM repositories r JOIN accounts a ON a.id = r.account_id WHERE a.slug LIKE 'race-team%'`;
    expect(rows[0]!.n).toBe(8);
  });

  it('same explicit slug at once: one 201, the others a clean 409', async () => {
    const u = await s.user();
    const rs = await Promise.all(Array.from({ length: 6 }, (_, i) => s.request('POST', '/api/spaces', { token: u.token, body: { name: `T${i}`, slug: 'contested' } })));
    const statuses = rs.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409]);
    const rows = await s.kernel.sql`SELECT count(*)::int AS n FROM accounts WHERE slug = 'contested'`;
    expect(rows[0]!.n).toBe(1);
  });

  it('creates through two server processes at once still get distinct slugs', async () => {
    const other = await startTestServer({ attachTo: s });
    try {
      const u = await s.user();
      const body = { name: 'Two Procs' };
      const [a, b] = await Promise.all([
        s.request('POST', '/api/spaces', { token: u.token, body }),
        other.request('POST', '/api/spaces', { token: u.token, body }),
      ]);
      expect([a.status, b.status]).toEqual([201, 201]);
      expect(new Set([a.body.space.slug, b.body.space.slug])).toEqual(new Set(['two-procs', 'two-procs-2']));
    } finally {
      await other.close();
    }
  });
});

describe('GET /api/spaces', () => {
  it('lists only my spaces, personal first then by name, each with my role', async () => {
    const me = await s.user();
    const other = await s.user();
    const zeta = await createSpace(me, { name: 'zeta' });
    await createSpace(me, { name: 'Alpha' });
    const theirs = await createSpace(other, { name: 'Beta' });
    await createSpace(other, { name: 'Hidden' });
    await addMember(other, theirs.space.id, me, 'editor');

    const r = await s.request('GET', '/api/spaces', { token: me.token });
    expect(r.status).toBe(200);
    expect(r.body.spaces.map((x: Space) => [x.name, x.kind, x.role])).toEqual([
      [me.username, 'user', 'owner'],
      ['Alpha', 'team', 'owner'],
      ['Beta', 'team', 'editor'],
      ['zeta', 'team', 'owner'],
    ]);
    expect(r.body.spaces[0]).toMatchObject({ id: me.id, is_personal: true, owner_id: me.id });
    expect(r.body).toMatchObject({ limit: 20, offset: 0, has_more: false });
    expect(r.body.spaces.find((x: Space) => x.id === zeta.space.id).slug).toBe(zeta.space.slug);
  });

  it('pages with limit/offset and clamps like spec 1.3', async () => {
    const me = await s.user();
    for (const n of ['b', 'c', 'd']) await createSpace(me, { name: n });
    const p1 = await s.request('GET', '/api/spaces?limit=2', { token: me.token });
    expect(p1.body.spaces.map((x: Space) => x.kind)).toEqual(['user', 'team']);
    expect(p1.body).toMatchObject({ limit: 2, offset: 0, has_more: true });
    const p2 = await s.request('GET', '/api/spaces?limit=2&offset=2', { token: me.token });
    expect(p2.body.spaces.map((x: Space) => x.name)).toEqual(['c', 'd']);
    expect(p2.body.has_more).toBe(false);
    expect((await s.request('GET', '/api/spaces?limit=999', { token: me.token })).body.limit).toBe(100);
    expect((await s.request('GET', '/api/spaces?limit=-3&offset=abc', { token: me.token })).body).toMatchObject({ limit: 20, offset: 0 });
  });

  it('requires authentication', async () => {
    expect((await s.request('GET', '/api/spaces', { token: null })).status).toBe(401);
  });
});

describe('GET /api/spaces/me and /:spaceId', () => {
  it('me is the personal space (the user account row), same shape as by id', async () => {
    const u = await s.user();
    const me = await s.request('GET', '/api/spaces/me', { token: u.token });
    expect(me.status).toBe(200);
    expect(me.body.role).toBe('owner');
    expect(me.body.space).toMatchObject({ id: u.id, kind: 'user', slug: u.username, is_personal: true, owner_id: u.id, ai_provider: 'openai' });
    const byId = await s.request('GET', `/api/spaces/${u.id}`, { token: u.token });
    expect(byId.body).toEqual(me.body);
    const bySlug = await s.request('GET', `/api/spaces/${u.username}`, { token: u.token });
    expect(bySlug.body).toEqual(me.body);
  });

  it('resolves a team space by id, by slug and case-insensitively by slug', async () => {
    const u = await s.user();
    const { space } = await createSpace(u, { name: 'Resolver Team' });
    for (const ref of [space.id, 'resolver-team', 'Resolver-Team']) {
      const r = await s.request('GET', `/api/spaces/${ref}`, { token: u.token });
      expect(r.status, ref).toBe(200);
      expect(r.body.space.id).toBe(space.id);
      expect(r.body.role).toBe('owner');
    }
    expect((await s.request('GET', '/api/spaces/me/model', { token: u.token })).status).toBe(200);
  });

  it('PATCH and DELETE on /api/spaces/me reach the :spaceId routes; an unknown method is 405', async () => {
    const u = await s.user();
    const r = await s.request('PATCH', '/api/spaces/me', { token: u.token, body: { description: 'mine' } });
    expect(r.status).toBe(200);
    expect(r.body.space).toMatchObject({ id: u.id, description: 'mine' });
    const put = await s.request('PUT', '/api/spaces/me', { token: u.token, body: {} });
    expect(put.status).toBe(405);
  });

  it('hides other tenants: non-members get 404 by id and by slug; unknown ids 404', async () => {
    const owner = await s.user();
    const stranger = await s.user();
    const { space } = await createSpace(owner, { name: 'Secret Team' });
    for (const ref of [space.id, space.slug, owner.id, owner.username, 'nosuchspace']) {
      const r = await s.request('GET', `/api/spaces/${ref}`, { token: stranger.token });
      expect(r.status, ref).toBe(404);
      expect(r.body).toEqual({ error: { code: 'NOT_FOUND', message: 'Space not found' } });
    }
  });

  it('a bad route parameter is 400 before auth', async () => {
    for (const [method, suffix] of ROUTES) {
      const r = await s.request(method, `/api/spaces/bad$id${suffix}`, { token: null });
      expect(r.status, `${method} ${suffix}`).toBe(400);
      expect(r.body.error).toEqual({ code: 'BAD_REQUEST', message: 'Invalid route parameter: spaceId' });
    }
  });

  it('every route needs authentication and hides spaces from non-members', async () => {
    const owner = await s.user();
    const stranger = await s.user();
    const { space } = await createSpace(owner, { name: 'Sweep Team' });
    for (const [method, suffix, body] of ROUTES) {
      const anon = await s.request(method, `/api/spaces/${space.id}${suffix}`, { token: null, body });
      expect(anon.status, `${method} ${suffix}`).toBe(401);
      const r = await s.request(method, `/api/spaces/${space.id}${suffix}`, { token: stranger.token, body });
      expect(r.status, `${method} ${suffix}`).toBe(404);
      expect(r.body.error.message).toBe('Space not found');
    }
    expect((await s.request('GET', `/api/spaces/${space.id}`, { token: owner.token })).status).toBe(200);
  });

  it('sees a space the moment membership is granted and loses it when removed', async () => {
    const owner = await s.user();
    const u = await s.user();
    const { space } = await createSpace(owner, { name: 'Door Team' });
    expect((await s.request('GET', `/api/spaces/${space.id}`, { token: u.token })).status).toBe(404);
    await addMember(owner, space.id, u, 'viewer');
    const r = await s.request('GET', `/api/spaces/${space.id}`, { token: u.token });
    expect(r.body.role).toBe('viewer');
    await s.request('DELETE', `/api/spaces/${space.id}/members/${u.username}`, { token: owner.token });
    expect((await s.request('GET', `/api/spaces/${space.id}`, { token: u.token })).status).toBe(404);
  });
});

describe('PATCH /api/spaces/:spaceId', () => {
  it('owner and admin update fields; the change is visible and updated_at moves', async () => {
    const owner = await s.user();
    const admin = await s.user();
    const { space } = await createSpace(owner, { name: 'Patch Team' });
    await addMember(owner, space.id, admin, 'admin');
    const r = await s.request('PATCH', `/api/spaces/${space.id}`, {
      token: admin.token,
      body: { name: 'Patched', description: 'd', ai_model: 'claude-sonnet-4-6', ai_provider: 'anthropic', security_posture: 'restricted_egress' },
    });
    expect(r.status, r.text).toBe(200);
    expect(r.body.space).toMatchObject({ id: space.id, name: 'Patched', description: 'd', ai_model: 'claude-sonnet-4-6', ai_provider: 'anthropic', security_posture: 'restricted_egress', slug: 'patch-team' });
    expect(Date.parse(r.body.space.updated_at)).toBeGreaterThanOrEqual(Date.parse(r.body.space.created_at));
    const cleared = await s.request('PATCH', `/api/spaces/${space.id}`, { token: owner.token, body: { description: null } });
    expect(cleared.body.space.description).toBeNull();
    const got = await s.request('GET', `/api/spaces/${space.id}`, { token: owner.token });
    expect(got.body.space).toMatchObject({ name: 'Patched', description: null, security_posture: 'restricted_egress' });
  });

  it('changes a team slug; the old slug stops resolving, a taken slug is 409', async () => {
    const owner = await s.user();
    const { space } = await createSpace(owner, { name: 'Old Slug' });
    await createSpace(owner, { name: 'Taken Slug' });
    const r = await s.request('PATCH', `/api/spaces/old-slug`, { token: owner.token, body: { slug: 'New-Slug' } });
    expect(r.status).toBe(200);
    expect(r.body.space.slug).toBe('new-slug');
    expect((await s.request('GET', '/api/spaces/new-slug', { token: owner.token })).body.space.id).toBe(space.id);
    expect((await s.request('GET', '/api/spaces/old-slug', { token: owner.token })).status).toBe(404);
    const clash = await s.request('PATCH', `/api/spaces/${space.id}`, { token: owner.token, body: { slug: 'taken-slug' } });
    expect(clash.status).toBe(409);
    expect(clash.body.error.message).toBe('This slug is already taken');
    const userClash = await s.request('PATCH', `/api/spaces/${space.id}`, { token: owner.token, body: { slug: owner.username } });
    expect(userClash.status).toBe(409);
  });

  it('refuses to change the personal space slug (it is the username), but allows its other fields', async () => {
    const u = await s.user();
    const r = await s.request('PATCH', '/api/spaces/me', { token: u.token, body: { slug: 'something-else' } });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain('PATCH /api/me/username');
    const same = await s.request('PATCH', '/api/spaces/me', { token: u.token, body: { slug: u.username } });
    expect(same.status).toBe(200);
    const ok = await s.request('PATCH', '/api/spaces/me', { token: u.token, body: { ai_model: 'gpt-5.4-mini' } });
    expect(ok.body.space).toMatchObject({ id: u.id, slug: u.username, ai_model: 'gpt-5.4-mini' });
  });

  it('editors and viewers get 404 like the original, and nothing changes', async () => {
    const owner = await s.user();
    const editor = await s.user();
    const viewer = await s.user();
    const { space } = await createSpace(owner, { name: 'Role Team' });
    await addMember(owner, space.id, editor, 'editor');
    await addMember(owner, space.id, viewer, 'viewer');
    for (const u of [editor, viewer]) {
      const r = await s.request('PATCH', `/api/spaces/${space.id}`, { token: u.token, body: { name: 'hijack' } });
      expect(r.status).toBe(404);
      expect(r.body.error.message).toBe('Space not found');
    }
    expect((await s.request('GET', `/api/spaces/${space.id}`, { token: owner.token })).body.space.name).toBe('Role Team');
  });

  it('rejects empty and malformed patches with 422', async () => {
    const u = await s.user();
    const { space } = await createSpace(u, { name: 'Strict Team' });
    for (const body of [{}, { unknown: 1 }, { name: '' }, { ai_provider: 'skynet' }, { security_posture: 'open' }, { ai_model: '' }, { ai_model: 'has space' }, { slug: 'no_underscore' }]) {
      const r = await s.request('PATCH', `/api/spaces/${space.id}`, { token: u.token, body });
      expect(r.status, JSON.stringify(body)).toBe(422);
    }
    expect((await s.request('GET', `/api/spaces/${space.id}`, { token: u.token })).body.space.name).toBe('Strict Team');
  });
});

describe('DELETE /api/spaces/:spaceId', () => {
  it('the owner deletes a team space; memberships and repositories go with it and the slug is free again', async () => {
    const owner = await s.user();
    const member = await s.user();
    const { space } = await createSpace(owner, { name: 'Doomed Team' });
    await addMember(owner, space.id, member, 'admin');
    const r = await s.request('DELETE', `/api/spaces/${space.slug}`, { token: owner.token });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ success: true });
    expect((await s.request('GET', `/api/spaces/${space.id}`, { token: owner.token })).status).toBe(404);
    expect((await s.request('GET', `/api/spaces/${space.id}`, { token: member.token })).status).toBe(404);
    const left = await s.kernel.sql`
      SELECT (SELECT count(*)::int FROM account_memberships WHERE account_id = ${space.id}) AS m,
             (SELECT count(*)::int FROM repositories WHERE account_id = ${space.id}) AS r`;
    expect(left[0]).toEqual({ m: 0, r: 0 });
    expect((await createSpace(owner, { name: 'Doomed Team' })).space.slug).toBe('doomed-team');
    expect((await s.request('DELETE', `/api/spaces/${space.id}`, { token: owner.token })).status).toBe(404);
  });

  it('admins, editors and viewers get 404; the space survives', async () => {
    const owner = await s.user();
    const { space } = await createSpace(owner, { name: 'Kept Team' });
    for (const role of ['admin', 'editor', 'viewer']) {
      const u = await s.user();
      await addMember(owner, space.id, u, role);
      expect((await s.request('DELETE', `/api/spaces/${space.id}`, { token: u.token })).status, role).toBe(404);
    }
    expect((await s.request('GET', `/api/spaces/${space.id}`, { token: owner.token })).status).toBe(200);
  });

  it('the personal space cannot be deleted', async () => {
    const u = await s.user();
    const r = await s.request('DELETE', '/api/spaces/me', { token: u.token });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toBe('The personal space cannot be deleted');
    expect((await s.request('GET', '/api/spaces/me', { token: u.token })).status).toBe(200);
  });
});

describe('model settings', () => {
  it('any member reads, owner/admin update, others get 404', async () => {
    const owner = await s.user();
    const admin = await s.user();
    const editor = await s.user();
    const { space } = await createSpace(owner, { name: 'Model Team' });
    await addMember(owner, space.id, admin, 'admin');
    await addMember(owner, space.id, editor, 'editor');
    const r = await s.request('GET', `/api/spaces/${space.id}/model`, { token: editor.token });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ model: 'gpt-5.4-nano', provider: 'openai' });
    const p = await s.request('PATCH', `/api/spaces/${space.id}/model`, { token: admin.token, body: { model: 'claude-sonnet-4-6', provider: 'anthropic' } });
    expect(p.status).toBe(200);
    expect(p.body).toEqual({ model: 'claude-sonnet-4-6', provider: 'anthropic' });
    const one = await s.request('PATCH', `/api/spaces/${space.id}/model`, { token: owner.token, body: { model: 'llama3:8b' } });
    expect(one.body).toEqual({ model: 'llama3:8b', provider: 'anthropic' });
    expect((await s.request('GET', `/api/spaces/${space.id}`, { token: owner.token })).body.space).toMatchObject({ ai_model: 'llama3:8b', ai_provider: 'anthropic' });
    const denied = await s.request('PATCH', `/api/spaces/${space.id}/model`, { token: editor.token, body: { model: 'x' } });
    expect(denied.status).toBe(404);
  });

  it('validates the body', async () => {
    const u = await s.user();
    for (const body of [{}, { model: '' }, { model: 'x'.repeat(201) }, { provider: 'nope' }, { model: 42 }, { model: 'bad\nname' }]) {
      const r = await s.request('PATCH', '/api/spaces/me/model', { token: u.token, body });
      expect(r.status, JSON.stringify(body)).toBe(422);
    }
    expect((await s.request('GET', '/api/spaces/me/model', { token: u.token })).body).toEqual({ model: 'gpt-5.4-nano', provider: 'openai' });
  });
});

describe('export and sidebar', () => {
  it('export holds the space, its members and its repositories as they are now', async () => {
    const owner = await s.user();
    const viewer = await s.user();
    const { space, repository } = await createSpace(owner, { name: 'Export Team' });
    await addMember(owner, space.id, viewer, 'viewer');
    await s.kernel.sql`INSERT INTO repositories (id, account_id, name) VALUES ('extrarepo001', ${space.id}, 'aaa-notes')`;
    const r = await s.request('GET', `/api/spaces/${space.slug}/export`, { token: viewer.token });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ format: 'takos.space-export', version: 1, space: { id: space.id, name: 'Export Team' } });
    expect(Date.now() - Date.parse(r.body.exported_at)).toBeLessThan(60_000);
    expect(r.body.members.map((m: { username: string; role: string }) => [m.username, m.role])).toEqual([[owner.username, 'owner'], [viewer.username, 'viewer']]);
    expect(r.body.members[0]).not.toHaveProperty('email');
    expect(r.body.repositories.map((x: { id: string; is_default: boolean }) => [x.id, x.is_default])).toEqual([[repository.id, true], ['extrarepo001', false]]);
  });

  it('sidebar lists the real repositories of the space, default first', async () => {
    const owner = await s.user();
    const { space, repository } = await createSpace(owner, { name: 'Sidebar Team' });
    await s.kernel.sql`INSERT INTO repositories (id, account_id, name) VALUES ('sidebarrepo1', ${space.id}, 'zz-docs')`;
    const r = await s.request('GET', `/api/spaces/${space.id}/sidebar-items`, { token: owner.token });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      items: [
        { type: 'repository', id: repository.id, title: 'default', href: `/api/repos/${repository.id}` },
        { type: 'repository', id: 'sidebarrepo1', title: 'zz-docs', href: '/api/repos/sidebarrepo1' },
      ],
    });
    const personal = await s.request('GET', '/api/spaces/me/sidebar-items', { token: owner.token });
    expect(personal.body).toEqual({ items: [] });
  });
});

describe('OpenAPI', () => {
  it('documents every route of the family from its zod schemas', async () => {
    const r = await s.request('GET', '/openapi.json', { token: null });
    expect(r.status).toBe(200);
    const p = r.body.paths;
    expect(Object.keys(p['/api/spaces'])).toEqual(expect.arrayContaining(['get', 'post']));
    expect(Object.keys(p['/api/spaces/{spaceId}'])).toEqual(expect.arrayContaining(['get', 'patch', 'delete']));
    expect(p['/api/spaces/me'].get.tags).toEqual(['spaces']);
    expect(p['/api/spaces'].post.requestBody.content['application/json'].schema.properties).toHaveProperty('name');
    expect(p['/api/spaces/{spaceId}/model'].patch.requestBody.content['application/json'].schema.properties.provider.enum).toContain('anthropic');
    expect(p['/api/spaces/{spaceId}/members/{username}'].patch.tags).toEqual(['spaces.members']);
    expect(p['/api/spaces/{spaceId}'].get.responses['200'].content['application/json'].schema.properties).toHaveProperty('role');
  });
});
