import { writeFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPat, createUser } from '../../runtime/identity/users.ts';
import { newId } from '../../runtime/ids.ts';
import { startTestServer, type TestServer } from '../harness.ts';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

/** A user as a sign-in provider would create one: provisional username, setup not yet done. */
async function freshUser(username: string) {
  const u = await createUser(s.kernel.sql, { username, email: `${username}@example.test`, name: 'Fresh', setupCompleted: false });
  const pat = await createPat(s.kernel.sql, u.id, 'test');
  return { id: u.id, token: pat.token };
}

describe('GET /api/setup/status', () => {
  it('reports setup state, username, email and name', async () => {
    const u = await freshUser('fresh-one');
    const r = await s.request('GET', '/api/setup/status', { token: u.token });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ setup_completed: false, username: 'fresh-one', email: 'fresh-one@example.test', name: 'Fresh' });
    expect((await s.request('GET', '/api/setup/status', { token: null })).status).toBe(401);
  });
});

describe('POST /api/setup/complete', () => {
  it('sets the lower-cased username and completes setup, once', async () => {
    const u = await freshUser('fresh-two');
    const r = await s.request('POST', '/api/setup/complete', { token: u.token, body: { username: ' Chosen_Name ' } });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ success: true, username: 'chosen_name' });
    const st = await s.request('GET', '/api/setup/status', { token: u.token });
    expect(st.body).toMatchObject({ setup_completed: true, username: 'chosen_name' });
    const again = await s.request('POST', '/api/setup/complete', { token: u.token, body: { username: 'other-name' } });
    expect(again.status).toBe(400);
    expect(again.body.error).toEqual({ code: 'BAD_REQUEST', message: 'Setup already completed' });
    expect((await s.request('GET', '/api/me', { token: u.token })).body.username).toBe('chosen_name');
  });

  it('accepts keeping the provisional username', async () => {
    const u = await freshUser('keep-mine');
    const r = await s.request('POST', '/api/setup/complete', { token: u.token, body: { username: 'Keep-Mine' } });
    expect(r.status).toBe(200);
    expect(r.body.username).toBe('keep-mine');
  });

  it('answers rule violations with 400, taken names with 409, malformed bodies with 422; nothing changes', async () => {
    const u = await freshUser('fresh-three');
    await s.user('taken-name');
    const reserved = await s.request('POST', '/api/setup/complete', { token: u.token, body: { username: 'settings' } });
    expect(reserved.status).toBe(400);
    expect(reserved.body.error.message).toBe('This username is reserved');
    const short = await s.request('POST', '/api/setup/complete', { token: u.token, body: { username: 'x' } });
    expect(short.body.error.message).toBe('Username must be at least 3 characters');
    const taken = await s.request('POST', '/api/setup/complete', { token: u.token, body: { username: 'Taken-Name' } });
    expect(taken.status).toBe(409);
    expect(taken.body.error).toEqual({ code: 'CONFLICT', message: 'This username is already taken' });
    expect((await s.request('POST', '/api/setup/complete', { token: u.token, body: {} })).status).toBe(422);
    expect((await s.request('POST', '/api/setup/complete', { token: u.token })).status).toBe(422);
    expect((await s.request('GET', '/api/setup/status', { token: u.token })).body).toMatchObject({ setup_completed: false, username: 'fresh-three' });
    expect((await s.request('POST', '/api/setup/complete', { token: null, body: { username: 'abc' } })).status).toBe(401);
  });

  it('lets only one of two concurrent completions through', async () => {
    const u = await freshUser('fresh-four');
    const rs = await Promise.all(['first-pick', 'second-pick'].map((username) => s.request('POST', '/api/setup/complete', { token: u.token, body: { username } })));
    expect(rs.map((r) => r.status).sort()).toEqual([200, 400]);
    const winner = rs.find((r) => r.status === 200)!.body.username;
    expect((await s.request('GET', '/api/setup/status', { token: u.token })).body.username).toBe(winner);
  });

  it('two users racing for one name: one gets it, the other 409', async () => {
    const [a, b] = [await freshUser('racer-a'), await freshUser('racer-b')];
    const rs = await Promise.all([a, b].map((u) => s.request('POST', '/api/setup/complete', { token: u.token, body: { username: 'finish-line' } })));
    expect(rs.map((r) => r.status).sort()).toEqual([200, 409]);
  });
});

describe('POST /api/setup/check-username', () => {
  it('reports availability and the first failed rule', async () => {
    const u = await freshUser('checker');
    await s.user('occupied');
    const check = (username: unknown) => s.request('POST', '/api/setup/check-username', { token: u.token, body: { username } });
    expect((await check('free-name')).body).toEqual({ available: true });
    expect((await check('OCCUPIED')).body).toEqual({ available: false, error: 'This username is already taken' });
    expect((await check('a-')).body).toEqual({ available: false, error: 'Username must be at least 3 characters' });
    expect((await check('root')).body).toEqual({ available: false, error: 'This username is reserved' });
    // One's own current name is available to oneself (setup/complete accepts it).
    expect((await check('checker')).body).toEqual({ available: true });
    expect((await check(7)).status).toBe(422);
    expect((await s.request('POST', '/api/setup/check-username', { token: null, body: { username: 'abc' } })).status).toBe(401);
  });

  it('team space slugs share the namespace', async () => {
    await s.kernel.sql`INSERT INTO accounts (id, type, name, slug) VALUES (${newId()}, 'team', 'Team', 'team-space')`;
    const u = await freshUser('team-checker');
    const r = await s.request('POST', '/api/setup/check-username', { token: u.token, body: { username: 'team-space' } });
    expect(r.body).toEqual({ available: false, error: 'This username is already taken' });
    expect((await s.request('POST', '/api/setup/complete', { token: u.token, body: { username: 'team-space' } })).status).toBe(409);
  });
});

describe('GET /api/seed-repositories', () => {
  const override = () => path.join(s.config.dataDir, 'seed-repositories.json');

  it('is public and serves the bundled catalogue', async () => {
    const r = await s.request('GET', '/api/seed-repositories', { token: null });
    expect(r.status).toBe(200);
    expect(r.body.repositories).toEqual([
      { url: 'https://github.com/tako0614/takos-agent.git', name: 'Takos Agent', description: expect.any(String), category: 'tool', checked: true },
    ]);
  });

  it('serves an operator override from the data folder, re-read on each request', async () => {
    const repos = [{ url: 'https://git.example.test/team/starter.git', name: 'Starter', description: 'Our template', category: 'template', checked: false }];
    await writeFile(override(), JSON.stringify({ repositories: repos }));
    try {
      expect((await s.request('GET', '/api/seed-repositories', { token: null })).body).toEqual({ repositories: repos });
    } finally {
      await rm(override());
    }
    expect((await s.request('GET', '/api/seed-repositories', { token: null })).body.repositories[0].name).toBe('Takos Agent');
  });

  it('an invalid override is a 500 with an error id (the operator must fix it), not an empty list', async () => {
    await writeFile(override(), JSON.stringify({ repositories: [{ url: 'not a url' }] }));
    try {
      const r = await s.request('GET', '/api/seed-repositories', { token: null });
      expect(r.status).toBe(500);
      expect(r.body.error.details.error_id).toMatch(/^[a-z0-9]{8}$/);
    } finally {
      await rm(override());
    }
  });
});
