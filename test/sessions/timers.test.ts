import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionKind } from '../../actors/session/kind.ts';
import { startTestServer, type TestServer } from '../harness.ts';
import { until } from '../streams/fixture.ts';
import { heartbeat, sessionRow, startSession, team, type Team } from './fixtures.ts';

/**
 * Every timed transition of the session actor (spec 5.3 with short, configured values): the heartbeat deadline,
 * the start grace, the maximum age, the init timeout and the busy-operation timeout. Each is asserted from the
 * table (never through the health route, which must not change anything), never early and within 2 s after due.
 */
// Short, but not so short that a heartbeat delayed by a busy test machine looks like a dead runtime.
const TIMEOUT = 1_500;
const GRACE = 800;
const MAX_AGE = 5_000;
let s: TestServer;
let t: Team;

beforeAll(async () => {
  s = await startTestServer({
    env: {
      TAKOS_SESSION_HEARTBEAT_TIMEOUT_MS: String(TIMEOUT),
      TAKOS_SESSION_START_GRACE_MS: String(GRACE),
      TAKOS_SESSION_MAX_AGE_MS: String(MAX_AGE),
      TAKOS_SESSION_OP_TIMEOUT_MS: '1500',
    },
    actors: { leaseTtlMs: 1_000, renewEveryMs: 250, timerPollMs: 50 },
  });
  t = await team(s, 'Timers');
});
afterAll(() => s.close());

async function waitEnded(id: string, timeoutMs = 8_000) {
  await until(async () => ['dead', 'failed'].includes((await sessionRow(s, id)).status), timeoutMs, `session ${id} to end`);
  return sessionRow(s, id);
}

describe('session deadlines', () => {
  it('a session whose heartbeats stop is declared dead within 2 s of last heartbeat + timeout, never before', async () => {
    const a = await startSession(s, t);
    const hb = await heartbeat(s, a.id, a.token);
    expect(hb.status).toBe(200);
    const row = await waitEnded(a.id);
    expect(row).toMatchObject({ status: 'dead', ended_reason: 'heartbeat_timeout' });
    const due = Date.parse(hb.body.timestamp) + TIMEOUT;
    const late = row.status_changed_at.getTime() - due;
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(2_000);
    const h = await s.request('GET', `/api/sessions/${a.id}/health`, { token: t.viewer.token });
    expect(h.body).toMatchObject({ status: 'dead', is_healthy: false, reason: 'not_running', ended_reason: 'heartbeat_timeout' });
    expect((await heartbeat(s, a.id, a.token)).status).toBe(400);
  });

  it('heartbeats keep a session alive across many timeouts', async () => {
    const a = await startSession(s, t);
    const end = Date.now() + 3 * TIMEOUT;
    while (Date.now() < end) {
      expect((await heartbeat(s, a.id, a.token)).status).toBe(200);
      await new Promise((r) => setTimeout(r, TIMEOUT / 4));
    }
    expect((await sessionRow(s, a.id)).status).toBe('running');
    await s.request('POST', `/api/sessions/${a.id}/discard`, { token: t.admin.token });
  });

  it('without any heartbeat, the start grace applies (and the first heartbeat may come any time within it)', async () => {
    const a = await startSession(s, t);
    const row = await waitEnded(a.id);
    expect(row).toMatchObject({ status: 'dead', ended_reason: 'heartbeat_timeout', last_heartbeat: null });
    const [r] = await s.kernel.sql<{ running_since: Date }[]>`SELECT running_since FROM runtime_sessions WHERE id = ${a.id}`;
    const late = row.status_changed_at.getTime() - (r!.running_since.getTime() + GRACE);
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(2_000);
  });

  it('a stopped session has no deadline; resume starts a new grace', async () => {
    const a = await startSession(s, t);
    await heartbeat(s, a.id, a.token);
    expect((await s.request('POST', `/api/sessions/${a.id}/stop`, { token: t.admin.token })).status).toBe(200);
    await new Promise((r) => setTimeout(r, TIMEOUT + 500));
    expect((await sessionRow(s, a.id)).status).toBe('stopped');
    const res = await s.request('POST', `/api/sessions/${a.id}/resume`, { token: t.admin.token });
    expect(res.status).toBe(200);
    const row = await waitEnded(a.id);
    expect(row).toMatchObject({ status: 'dead', ended_reason: 'heartbeat_timeout' });
  });

  it('the maximum age ends a heartbeating session', async () => {
    const a = await startSession(s, t);
    let status = 200;
    while (status === 200) {
      status = (await heartbeat(s, a.id, a.token)).status;
      await new Promise((r) => setTimeout(r, 100));
    }
    // 400: "Session is not running" (the timer came first) or "Session expired" (the heartbeat noticed it).
    expect(status).toBe(400);
    const row = await waitEnded(a.id);
    expect(row).toMatchObject({ status: 'dead', ended_reason: 'max_age' });
    const [r] = await s.kernel.sql<{ created_at: Date }[]>`SELECT created_at FROM runtime_sessions WHERE id = ${a.id}`;
    const late = row.status_changed_at.getTime() - (r!.created_at.getTime() + MAX_AGE);
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(2_000);
  }, 15_000);

  it('a heartbeat past the maximum age marks the session dead and answers 400 "Session expired"', async () => {
    // A running row whose actor never set its timers (written directly): only the heartbeat can notice its age.
    await s.kernel.sql`
      INSERT INTO runtime_sessions (id, account_id, user_account_id, repo_id, branch, status, running_since, heartbeat_timeout_ms, start_grace_ms, max_age_ms, created_at)
      VALUES ('oldsession01', ${t.id}, ${t.editor.id}, ${t.repoId}, 'main', 'running', now() - interval '1 hour', 3600000, 3600000, 60000, now() - interval '1 hour')`;
    const token = await s.kernel.serviceTokens.sign({ sub: t.editor.id, sid: 'oldsession01', spc: t.id });
    const r = await heartbeat(s, 'oldsession01', token);
    expect(r.status).toBe(400);
    expect(r.body.error.message).toBe('Session expired: exceeded maximum age');
    expect(await sessionRow(s, 'oldsession01')).toMatchObject({ status: 'dead', ended_reason: 'max_age' });
  });

  it('a stopped session past its maximum age cannot resume', async () => {
    await s.kernel.sql`
      INSERT INTO runtime_sessions (id, account_id, user_account_id, repo_id, branch, status, heartbeat_timeout_ms, start_grace_ms, max_age_ms, created_at)
      VALUES ('oldstopped01', ${t.id}, ${t.editor.id}, ${t.repoId}, 'main', 'stopped', 3600000, 3600000, 60000, now() - interval '1 hour')`;
    const r = await s.request('POST', '/api/sessions/oldstopped01/resume', { token: t.admin.token });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toBe('Session expired: exceeded maximum age');
    expect((await sessionRow(s, 'oldstopped01')).status).toBe('stopped');
  });
});

describe('a deleted space', () => {
  it('takes its sessions with it: the timers that were due fire into nothing and are gone', async () => {
    const doomed = await team(s, 'Doomed');
    const a = await startSession(s, doomed);
    await heartbeat(s, a.id, a.token);
    expect((await s.request('DELETE', `/api/spaces/${doomed.id}`, { token: doomed.owner.token })).status).toBeLessThan(300);
    expect(await s.kernel.sql`SELECT 1 FROM runtime_sessions WHERE id = ${a.id}`).toHaveLength(0);
    await until(async () => (await s.kernel.sql`SELECT 1 FROM actor_timers WHERE kind = 'session' AND actor_id = ${a.id} AND name = 'deadline'`).length === 0, 8_000, 'the deadline timer to fire');
    expect(await s.kernel.sql`SELECT 1 FROM runtime_sessions WHERE id = ${a.id}`).toHaveLength(0);
    expect((await heartbeat(s, a.id, a.token)).status).toBeGreaterThanOrEqual(400);
  });
});

describe('initialisation and busy operations', () => {
  it('a session whose working copy is never finished (its process died) fails at the init timeout', async () => {
    const id = 'initstuck001';
    await s.deps.actors.send(sessionKind, id, {
      type: 'create',
      spaceId: t.id,
      userId: t.editor.id,
      repoId: t.repoId,
      branch: 'main',
      timing: { heartbeatTimeoutMs: TIMEOUT, startGraceMs: GRACE, maxAgeMs: MAX_AGE },
      initTimeoutMs: 300,
    });
    expect((await sessionRow(s, id)).status).toBe('initializing');
    const row = await waitEnded(id);
    expect(row).toMatchObject({ status: 'failed', ended_reason: 'init_timeout' });
  });

  it('a working copy that cannot be built fails the session: 500 "Failed to initialize runtime session"', async () => {
    const other = await team(s, 'Broken');
    // The bare repository's path is taken by a file: building the working copy fails.
    const reposDir = path.join(s.config.dataDir, 'repos');
    await mkdir(reposDir, { recursive: true });
    const blocker = path.join(reposDir, `${other.repoId}.git`);
    await writeFile(blocker, 'not a repository');
    try {
      const r = await s.request('POST', `/api/spaces/${other.id}/sessions`, { token: other.editor.token, body: {} });
      expect(r.status).toBe(500);
      expect(r.body.error).toMatchObject({ code: 'INTERNAL_ERROR', message: 'Failed to initialize runtime session' });
      const rows = await s.kernel.sql<{ status: string; ended_reason: string }[]>`SELECT status, ended_reason FROM runtime_sessions WHERE account_id = ${other.id}`;
      expect(rows).toEqual([{ status: 'failed', ended_reason: 'init_error' }]);
    } finally {
      await rm(blocker, { force: true });
    }
  });

  it('a stop whose process died leaves the session busy only until the operation timeout', async () => {
    const a = await startSession(s, t);
    await s.deps.actors.send(sessionKind, a.id, { type: 'begin', op: 'stop', opId: 'lost-op', opTimeoutMs: 400 });
    const busy = await s.request('POST', `/api/sessions/${a.id}/stop`, { token: t.admin.token });
    expect(busy.status).toBe(409);
    expect(busy.body.error.message).toBe('Session is busy: stop in progress');
    expect((await s.request('POST', `/api/sessions/${a.id}/discard`, { token: t.admin.token })).status).toBe(409);
    await until(async () => (await s.request('POST', `/api/sessions/${a.id}/stop`, { token: t.admin.token })).status === 200, 5_000, 'stop to succeed');
    expect((await sessionRow(s, a.id)).status).toBe('stopped');
  });
});
