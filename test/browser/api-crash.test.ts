import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../harness.ts';
import { spawnApp, type AppChild } from '../support/spawn-app.ts';
import { startSite, testDataRoot, type Site } from './site.ts';
import { startBrowserKind } from '../../workers/browser/kind.ts';
import type { BrowserWorkerHandle } from '../../workers/browser/host.ts';

// A browser worker in its own process killed with SIGKILL mid-session; and the loopback rule with its switch OFF.

let site: Site;
beforeAll(async () => {
  site = await startSite();
});
afterAll(async () => {
  await site?.close();
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until<T>(what: string, f: () => Promise<T | null | undefined | false>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('browser worker killed with kill -9', () => {
  let s: TestServer;
  const children: AppChild[] = [];
  let w2: BrowserWorkerHandle | undefined;
  afterAll(async () => {
    await w2?.close();
    for (const c of children) {
      c.proc.kill('SIGTERM');
      await Promise.race([c.exited, new Promise((r) => setTimeout(r, 10_000))]);
      c.proc.kill('SIGKILL');
    }
    await s?.close();
  });

  it('marks its sessions failed with a reason, reaps its Chromium, and a new worker restores capacity', async () => {
    const env = { BROWSER_ALLOW_LOOPBACK: '1', BROWSER_HEARTBEAT_TTL_MS: '1000' };
    s = await startTestServer({ env, actors: { timerPollMs: 50 } });
    const root = testDataRoot();
    const childEnv = { ...env, CHILD_HOSTING: '0', CHILD_BROWSER_WORKER: '1', CHILD_BROWSER_DATA_ROOT: root };
    const w1 = await spawnApp(s, childEnv);
    children.push(w1);
    const user = await s.user();
    const space = (await s.request('POST', '/api/spaces', { token: user.token, body: { name: 'Crash space' } })).body.space.id as string;
    const create = () => s.request('POST', `/api/spaces/${space}/browser-sessions`, { token: user.token, body: { url: site.url } });

    const c = await create();
    expect(c.status).toBe(201);
    const id = c.body.sessionId as string;
    expect((await s.request('GET', `/api/browser-sessions/${id}/html`, { token: user.token })).status).toBe(200);
    const pids = w1.info.chromiumPids as number[];
    expect(pids.length).toBeGreaterThan(0);

    await w1.kill9();
    const failed = await until('the session to fail', async () => {
      const g = await s.request('GET', `/api/browser-sessions/${id}`, { token: user.token });
      return g.body.status === 'failed' ? g.body : null;
    });
    expect(failed).toMatchObject({ status: 'failed', reason: 'worker_lost' });
    expect(failed.reasonMessage).toMatch(/heartbeat/);
    const op = await s.request('GET', `/api/browser-sessions/${id}/screenshot`, { token: user.token });
    expect(op.status).toBe(410);
    expect(op.body.error.details.reason).toBe('worker_lost');

    // The next worker on the same data root kills the dead worker's Chromium tree and takes new sessions. (In this
    // process: a second child would cost another ~10 s of start-up on a busy machine and prove nothing more.)
    w2 = await startBrowserKind(s.deps, { maxSessions: 2, dataRoot: root, loadProbe: () => ({ cpu: 0, memory: 0 }) });
    await until('the old Chromium to be gone', async () => pids.every((p) => !alive(p)));
    const a = await create();
    const b = await create();
    expect([a.status, b.status]).toEqual([201, 201]);
    for (const r of [a, b]) expect((await s.request('DELETE', `/api/browser-sessions/${r.body.sessionId}`, { token: user.token })).status).toBe(200);
  }, 60_000);
});

describe('loopback switch off (the default)', () => {
  let s: TestServer;
  afterAll(async () => {
    await s?.close();
  });

  it('refuses loopback targets through the API, on create and on goto', async () => {
    s = await startTestServer({ workers: ['browser'], browserPool: { maxSessions: 1, dataRoot: testDataRoot(), loadProbe: () => ({ cpu: 0, memory: 0 }) } });
    expect(s.config.BROWSER_ALLOW_LOOPBACK).toBe(false);
    const user = await s.user();
    const space = (await s.request('POST', '/api/spaces', { token: user.token, body: { name: 'Closed space' } })).body.space.id as string;
    const hitsBefore = site.hits.get('/') ?? 0;
    const bad = await s.request('POST', `/api/spaces/${space}/browser-sessions`, { token: user.token, body: { url: site.url } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe('VALIDATION_ERROR');
    expect(site.hits.get('/') ?? 0).toBe(hitsBefore);

    const c = await s.request('POST', `/api/spaces/${space}/browser-sessions`, { token: user.token, body: {} });
    expect(c.status).toBe(201);
    const id = c.body.sessionId as string;
    for (const url of [site.url, 'http://localhost:1/', 'http://[::1]/']) {
      const g = await s.request('POST', `/api/browser-sessions/${id}/goto`, { token: user.token, body: { url } });
      expect(g.status).toBe(422);
    }
    expect((await s.request('DELETE', `/api/browser-sessions/${id}`, { token: user.token })).status).toBe(200);
  });
});
