import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '../harness.ts';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

interface Team {
  id: string;
  slug: string;
  owner: TestUser;
  admin: TestUser;
  editor: TestUser;
  viewer: TestUser;
}

async function add(actor: TestUser, spaceId: string, body: Record<string, unknown>) {
  return s.request('POST', `/api/spaces/${spaceId}/members`, { token: actor.token, body });
}

/** A team space with one member of each role. */
async function team(name: string): Promise<Team> {
  const [owner, admin, editor, viewer] = await Promise.all([s.user(), s.user(), s.user(), s.user()]);
  const r = await s.request('POST', '/api/spaces', { token: owner!.token, body: { name } });
  expect(r.status).toBe(201);
  const id = r.body.space.id;
  for (const [u, role] of [[admin!, 'admin'], [editor!, 'editor'], [viewer!, 'viewer']] as const) {
    expect((await add(owner!, id, { username: u.username, role })).status).toBe(201);
  }
  return { id, slug: r.body.space.slug, owner: owner!, admin: admin!, editor: editor!, viewer: viewer! };
}

const roleOf = async (t: Team, u: TestUser) => {
  const r = await s.request('GET', `/api/spaces/${t.id}/members`, { token: t.owner.token });
  return r.body.members.find((m: { user_id: string }) => m.user_id === u.id)?.role ?? null;
};

describe('GET /api/spaces/:spaceId/members', () => {
  it('lists members with their profile, owner first, for any member', async () => {
    const t = await team('List Team');
    const r = await s.request('GET', `/api/spaces/${t.slug}/members`, { token: t.viewer.token });
    expect(r.status).toBe(200);
    expect(r.body.members.map((m: { username: string; role: string }) => [m.username, m.role])).toEqual([
      [t.owner.username, 'owner'],
      [t.admin.username, 'admin'],
      [t.editor.username, 'editor'],
      [t.viewer.username, 'viewer'],
    ]);
    expect(r.body.members[0]).toEqual({
      user_id: t.owner.id,
      username: t.owner.username,
      name: t.owner.username,
      email: t.owner.email,
      picture: null,
      role: 'owner',
      joined_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    expect(r.body).toMatchObject({ limit: 100, offset: 0, has_more: false });
    const page = await s.request('GET', `/api/spaces/${t.id}/members?limit=2&offset=1`, { token: t.viewer.token });
    expect(page.body.members.map((m: { role: string }) => m.role)).toEqual(['admin', 'editor']);
    expect(page.body.has_more).toBe(true);
  });

  it('the personal space has exactly its user as owner', async () => {
    const u = await s.user();
    const r = await s.request('GET', '/api/spaces/me/members', { token: u.token });
    expect(r.body.members).toEqual([expect.objectContaining({ user_id: u.id, role: 'owner' })]);
  });

  it('401 without credentials, 404 for non-members, 400 for a bad space id', async () => {
    const t = await team('Hidden Members');
    const stranger = await s.user();
    expect((await s.request('GET', `/api/spaces/${t.id}/members`, { token: null })).status).toBe(401);
    const r = await s.request('GET', `/api/spaces/${t.id}/members`, { token: stranger.token });
    expect(r.status).toBe(404);
    expect(r.body.error.message).toBe('Space not found');
    const bad = await s.request('GET', '/api/spaces/bad$id/members', { token: stranger.token });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toBe('Invalid route parameter: spaceId');
  });
});

describe('POST /api/spaces/:spaceId/members', () => {
  it('owner adds by email (case-insensitive) and by username; the new member sees the space at once', async () => {
    const t = await team('Add Team');
    const a = await s.user();
    const b = await s.user();
    const r1 = await add(t.owner, t.id, { email: a.email!.toUpperCase(), role: 'editor' });
    expect(r1.status).toBe(201);
    expect(r1.body.member).toMatchObject({ user_id: a.id, username: a.username, email: a.email, role: 'editor' });
    const r2 = await add(t.owner, t.slug, { username: b.username.toUpperCase() });
    expect(r2.status).toBe(201);
    expect(r2.body.member.role).toBe('viewer');
    const seen = await s.request('GET', `/api/spaces/${t.id}`, { token: a.token });
    expect(seen.body.role).toBe('editor');
    expect((await s.request('GET', '/api/spaces', { token: b.token })).body.spaces.map((x: { id: string }) => x.id)).toContain(t.id);
  });

  it('admins add editors and viewers but cannot promote to admin', async () => {
    const t = await team('Admin Adds');
    const a = await s.user();
    const b = await s.user();
    expect((await add(t.admin, t.id, { username: a.username, role: 'editor' })).status).toBe(201);
    const r = await add(t.admin, t.id, { username: b.username, role: 'admin' });
    expect(r.status).toBe(403);
    expect(r.body.error).toEqual({ code: 'FORBIDDEN', message: 'Only owner can promote to admin' });
    expect(await roleOf(t, b)).toBeNull();
    expect((await add(t.owner, t.id, { username: b.username, role: 'admin' })).status).toBe(201);
  });

  it('editors and viewers get 403', async () => {
    const t = await team('No Adds');
    const a = await s.user();
    for (const u of [t.editor, t.viewer]) {
      const r = await add(u, t.id, { username: a.username, role: 'viewer' });
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('FORBIDDEN');
    }
    expect(await roleOf(t, a)).toBeNull();
  });

  it('owner role 400, unknown user 404, existing member 409', async () => {
    const t = await team('Rules Team');
    const a = await s.user();
    const owner = await add(t.owner, t.id, { username: a.username, role: 'owner' });
    expect(owner.status).toBe(400);
    expect(owner.body.error.message).toBe('The owner role cannot be assigned');
    const missing = await add(t.owner, t.id, { email: 'nobody@example.test', role: 'viewer' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toBe('User not found');
    expect((await add(t.owner, t.id, { username: 'no-such-user', role: 'viewer' })).status).toBe(404);
    const dup = await add(t.owner, t.id, { username: t.editor.username, role: 'viewer' });
    expect(dup.status).toBe(409);
    expect(await roleOf(t, t.editor)).toBe('editor');
    // A team space is not a user: it cannot be added as a member.
    const other = await s.request('POST', '/api/spaces', { token: a.token, body: { name: 'Not A User' } });
    expect((await add(t.owner, t.id, { username: other.body.space.slug, role: 'viewer' })).status).toBe(404);
  });

  it('concurrent adds of the same user: one 201, one 409, one row', async () => {
    const t = await team('Race Adds');
    const a = await s.user();
    const rs = await Promise.all([0, 1, 2].map(() => add(t.owner, t.id, { username: a.username, role: 'viewer' })));
    expect(rs.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    const rows = await s.kernel.sql`SELECT count(*)::int AS n FROM account_memberships WHERE account_id = ${t.id} AND member_id = ${a.id}`;
    expect(rows[0]!.n).toBe(1);
  });

  it('a personal space takes no other members', async () => {
    const u = await s.user();
    const a = await s.user();
    const r = await add(u, 'me', { username: a.username, role: 'viewer' });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain('personal space');
    expect((await s.request('GET', `/api/spaces/${u.id}`, { token: a.token })).status).toBe(404);
  });

  it('malformed bodies are 422, unauthenticated 401, non-members 404', async () => {
    const t = await team('Body Team');
    const a = await s.user();
    for (const body of [{}, { role: 'viewer' }, { email: 'not-an-email', role: 'viewer' }, { username: a.username, role: 'superuser' }, { username: a.username, email: a.email, role: 'viewer' }, { username: 5 }]) {
      const r = await add(t.owner, t.id, body);
      expect(r.status, JSON.stringify(body)).toBe(422);
      expect(r.body.error.code).toBe('VALIDATION_ERROR');
    }
    expect((await s.request('POST', `/api/spaces/${t.id}/members`, { token: null, body: { username: a.username } })).status).toBe(401);
    const stranger = await s.user();
    const r = await add(stranger, t.id, { username: a.username, role: 'viewer' });
    expect(r.status).toBe(404);
    expect(r.body.error.message).toBe('Space not found');
    expect(await roleOf(t, a)).toBeNull();
  });
});

describe('PATCH /api/spaces/:spaceId/members/:username', () => {
  it('owner changes any non-owner role, including promoting to admin', async () => {
    const t = await team('Owner Patches');
    const r = await s.request('PATCH', `/api/spaces/${t.id}/members/${t.viewer.username}`, { token: t.owner.token, body: { role: 'admin' } });
    expect(r.status).toBe(200);
    expect(r.body.member).toMatchObject({ user_id: t.viewer.id, role: 'admin' });
    expect(await roleOf(t, t.viewer)).toBe('admin');
    const down = await s.request('PATCH', `/api/spaces/${t.id}/members/${t.admin.username.toUpperCase()}`, { token: t.owner.token, body: { role: 'viewer' } });
    expect(down.status).toBe(200);
    expect((await s.request('GET', `/api/spaces/${t.id}`, { token: t.admin.token })).body.role).toBe('viewer');
  });

  it('admins change editors/viewers, demote themselves, but not other admins, the owner, or to admin', async () => {
    const t = await team('Admin Patches');
    const other = await s.user();
    expect((await add(t.owner, t.id, { username: other.username, role: 'admin' })).status).toBe(201);
    const ok = await s.request('PATCH', `/api/spaces/${t.id}/members/${t.viewer.username}`, { token: t.admin.token, body: { role: 'editor' } });
    expect(ok.status).toBe(200);
    const promote = await s.request('PATCH', `/api/spaces/${t.id}/members/${t.editor.username}`, { token: t.admin.token, body: { role: 'admin' } });
    expect(promote.status).toBe(403);
    expect(promote.body.error.message).toBe('Only owner can promote to admin');
    const peer = await s.request('PATCH', `/api/spaces/${t.id}/members/${other.username}`, { token: t.admin.token, body: { role: 'viewer' } });
    expect(peer.status).toBe(403);
    const owner = await s.request('PATCH', `/api/spaces/${t.id}/members/${t.owner.username}`, { token: t.admin.token, body: { role: 'viewer' } });
    expect(owner.status).toBe(403);
    expect(await roleOf(t, other)).toBe('admin');
    expect(await roleOf(t, t.editor)).toBe('editor');
    expect(await roleOf(t, t.owner)).toBe('owner');
    const self = await s.request('PATCH', `/api/spaces/${t.id}/members/${t.admin.username}`, { token: t.admin.token, body: { role: 'editor' } });
    expect(self.status).toBe(200);
    expect(await roleOf(t, t.admin)).toBe('editor');
  });

  it('owner role cannot be assigned (400) and the owner cannot be changed, even by themselves (403)', async () => {
    const t = await team('Owner Rules');
    const r = await s.request('PATCH', `/api/spaces/${t.id}/members/${t.editor.username}`, { token: t.owner.token, body: { role: 'owner' } });
    expect(r.status).toBe(400);
    const self = await s.request('PATCH', `/api/spaces/${t.id}/members/${t.owner.username}`, { token: t.owner.token, body: { role: 'admin' } });
    expect(self.status).toBe(403);
    expect(await roleOf(t, t.owner)).toBe('owner');
  });

  it('editors and viewers 403, strangers 404, unknown member 404, bad body 422, bad username 400, anonymous 401', async () => {
    const t = await team('Patch Guards');
    for (const u of [t.editor, t.viewer]) {
      const r = await s.request('PATCH', `/api/spaces/${t.id}/members/${t.viewer.username}`, { token: u.token, body: { role: 'editor' } });
      expect(r.status).toBe(403);
    }
    const stranger = await s.user();
    expect((await s.request('PATCH', `/api/spaces/${t.id}/members/${t.viewer.username}`, { token: stranger.token, body: { role: 'editor' } })).status).toBe(404);
    const missing = await s.request('PATCH', `/api/spaces/${t.id}/members/${stranger.username}`, { token: t.owner.token, body: { role: 'editor' } });
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toBe('Member not found');
    for (const body of [{}, { role: 'root' }, { role: 3 }]) {
      expect((await s.request('PATCH', `/api/spaces/${t.id}/members/${t.viewer.username}`, { token: t.owner.token, body })).status).toBe(422);
    }
    const bad = await s.request('PATCH', `/api/spaces/${t.id}/members/bad$name`, { token: t.owner.token, body: { role: 'editor' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toBe('Invalid route parameter: username');
    expect((await s.request('PATCH', `/api/spaces/${t.id}/members/${t.viewer.username}`, { token: null, body: { role: 'editor' } })).status).toBe(401);
    expect(await roleOf(t, t.viewer)).toBe('viewer');
  });
});

describe('DELETE /api/spaces/:spaceId/members/:username', () => {
  it('owner removes anyone but themselves; the removed member loses access at once', async () => {
    const t = await team('Owner Removes');
    const r = await s.request('DELETE', `/api/spaces/${t.id}/members/${t.admin.username}`, { token: t.owner.token });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ success: true });
    expect((await s.request('GET', `/api/spaces/${t.id}`, { token: t.admin.token })).status).toBe(404);
    const self = await s.request('DELETE', `/api/spaces/${t.id}/members/${t.owner.username}`, { token: t.owner.token });
    expect(self.status).toBe(403);
    expect(self.body.error.message).toBe('The space owner cannot be removed');
  });

  it('admins remove editors and viewers, not admins or the owner', async () => {
    const t = await team('Admin Removes');
    const other = await s.user();
    expect((await add(t.owner, t.id, { username: other.username, role: 'admin' })).status).toBe(201);
    expect((await s.request('DELETE', `/api/spaces/${t.id}/members/${t.viewer.username}`, { token: t.admin.token })).status).toBe(200);
    const peer = await s.request('DELETE', `/api/spaces/${t.id}/members/${other.username}`, { token: t.admin.token });
    expect(peer.status).toBe(403);
    expect(peer.body.error.message).toBe('Admins cannot remove other admins');
    expect((await s.request('DELETE', `/api/spaces/${t.id}/members/${t.owner.username}`, { token: t.admin.token })).status).toBe(403);
    expect(await roleOf(t, other)).toBe('admin');
  });

  it('any member but the owner may leave; editors and viewers cannot remove others (403)', async () => {
    const t = await team('Leavers');
    const r = await s.request('DELETE', `/api/spaces/${t.id}/members/${t.editor.username}`, { token: t.viewer.token });
    expect(r.status).toBe(403);
    expect((await s.request('DELETE', `/api/spaces/${t.id}/members/not-a-member`, { token: t.viewer.token })).status).toBe(403);
    for (const u of [t.viewer, t.editor, t.admin]) {
      const leave = await s.request('DELETE', `/api/spaces/${t.id}/members/${u.username}`, { token: u.token });
      expect(leave.status).toBe(200);
      expect((await s.request('GET', `/api/spaces/${t.id}`, { token: u.token })).status).toBe(404);
    }
    const members = await s.request('GET', `/api/spaces/${t.id}/members`, { token: t.owner.token });
    expect(members.body.members.map((m: { user_id: string }) => m.user_id)).toEqual([t.owner.id]);
  });

  it('unknown member 404 for admins, strangers 404, anonymous 401, bad params 400', async () => {
    const t = await team('Delete Guards');
    const stranger = await s.user();
    expect((await s.request('DELETE', `/api/spaces/${t.id}/members/${stranger.username}`, { token: t.owner.token })).status).toBe(404);
    const r = await s.request('DELETE', `/api/spaces/${t.id}/members/${t.viewer.username}`, { token: stranger.token });
    expect(r.status).toBe(404);
    expect(r.body.error.message).toBe('Space not found');
    expect((await s.request('DELETE', `/api/spaces/${t.id}/members/${t.viewer.username}`, { token: null })).status).toBe(401);
    expect((await s.request('DELETE', `/api/spaces/bad$id/members/${t.viewer.username}`, { token: t.owner.token })).status).toBe(400);
    expect(await roleOf(t, t.viewer)).toBe('viewer');
  });

  it('a removed member can be added back', async () => {
    const t = await team('Comeback');
    expect((await s.request('DELETE', `/api/spaces/${t.id}/members/${t.editor.username}`, { token: t.owner.token })).status).toBe(200);
    const again = await add(t.owner, t.id, { username: t.editor.username, role: 'viewer' });
    expect(again.status).toBe(201);
    expect(await roleOf(t, t.editor)).toBe('viewer');
  });
});

describe('tenant isolation', () => {
  it("one space's admin cannot manage another space's members through its own role", async () => {
    const a = await team('Tenant A');
    const b = await team('Tenant B');
    const r = await s.request('DELETE', `/api/spaces/${b.id}/members/${b.viewer.username}`, { token: a.owner.token });
    expect(r.status).toBe(404);
    const p = await s.request('PATCH', `/api/spaces/${b.id}/members/${b.viewer.username}`, { token: a.admin.token, body: { role: 'admin' } });
    expect(p.status).toBe(404);
    // Naming a member of B under A's path finds no such member of A.
    const cross = await s.request('DELETE', `/api/spaces/${a.id}/members/${b.viewer.username}`, { token: a.owner.token });
    expect(cross.status).toBe(404);
    expect(await roleOf(b, b.viewer)).toBe('viewer');
  });
});
