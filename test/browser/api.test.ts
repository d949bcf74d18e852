import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../harness.ts';
import { startSite, testDataRoot, type Site } from './site.ts';

// The 9 browser-session routes over HTTP, against real Chromium in an in-process browser worker (loopback ON here).

let s: TestServer;
let site: Site;
let owner: { id: string; token: string; username: string };
let other: { id: string; token: string; username: string };
let spaceId: string;

const fixedLoad = () => ({ cpu: 0, memory: 0 });
const dataRoot = testDataRoot();

beforeAll(async () => {
  site = await startSite();
  s = await startTestServer({
    env: { BROWSER_ALLOW_LOOPBACK: '1', BROWSER_HEARTBEAT_TTL_MS: '1500' },
    workers: ['browser'],
    browserPool: { maxSessions: 2, queueMax: 0, dataRoot, loadProbe: fixedLoad },
    actors: { timerPollMs: 50 },
  });
  owner = await s.user();
  other = await s.user();
  spaceId = (await s.request('POST', '/api/spaces', { token: owner.token, body: { name: 'Browser space' } })).body.space.id;
});
afterAll(async () => {
  await s?.close();
  await site?.close();
});

const create = (body: unknown = {}, token = owner.token, space = spaceId) => s.request('POST', `/api/spaces/${space}/browser-sessions`, { token, body });
const del = (id: string, token = owner.token) => s.request('DELETE', `/api/browser-sessions/${id}`, { token });

describe('browser-session routes', () => {
  it('runs every route on one session, then deletes it', async () => {
    const c = await create({ url: site.url + 'form', viewport: { width: 800, height: 600 } });
    expect(c.status).toBe(201);
    expect(c.body.ok).toBe(true);
    expect(c.body.sessionId).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.stringify(c.body)).not.toMatch(/proxyToken|token/i);
    const id = c.body.sessionId as string;
    expect(c.body.session).toMatchObject({ status: 'active', spaceId, userId: owner.id, viewport: { width: 800, height: 600 }, url: site.url + 'form' });

    const g = await s.request('GET', `/api/browser-sessions/${id}`, { token: owner.token });
    expect(g.status).toBe(200);
    expect(g.body).toMatchObject({ sessionId: id, status: 'active', reason: null });

    const act = await s.request('POST', `/api/browser-sessions/${id}/action`, { token: owner.token, body: { type: 'type', selector: '#name', text: 'Ada' } });
    expect(act.status).toBe(200);
    expect(act.body.ok).toBe(true);
    const check = await s.request('POST', `/api/browser-sessions/${id}/action`, { token: owner.token, body: { type: 'check', selector: '#agree' } });
    expect(check.status).toBe(200);

    const ev = await s.request('POST', `/api/browser-sessions/${id}/extract`, { token: owner.token, body: { evaluate: "[document.querySelector('#name').value, document.querySelector('#agree').checked]" } });
    expect(ev.status).toBe(200);
    expect(ev.body.data).toEqual(['Ada', true]);
    const sel = await s.request('POST', `/api/browser-sessions/${id}/extract`, { token: owner.token, body: { selector: '.item' } });
    expect(sel.body.data.map((d: { text: string }) => d.text)).toEqual(['one', 'two']);

    const html = await s.request('GET', `/api/browser-sessions/${id}/html`, { token: owner.token });
    expect(html.status).toBe(200);
    expect(html.body.html).toContain('Form page');
    expect(html.body.url).toBe(site.url + 'form');

    const shot = await fetch(`${s.url}/api/browser-sessions/${id}/screenshot`, { headers: { authorization: `Bearer ${owner.token}` } });
    expect(shot.status).toBe(200);
    expect(shot.headers.get('content-type')).toBe('image/png');
    const png = Buffer.from(await shot.arrayBuffer());
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([800, 600]);
    const clip = await fetch(`${s.url}/api/browser-sessions/${id}/screenshot?clip=0,0,120,80`, { headers: { authorization: `Bearer ${owner.token}` } });
    const cpng = Buffer.from(await clip.arrayBuffer());
    expect([cpng.readUInt32BE(16), cpng.readUInt32BE(20)]).toEqual([120, 80]);
    const full = await fetch(`${s.url}/api/browser-sessions/${id}/screenshot?fullPage=true`, { headers: { authorization: `Bearer ${owner.token}` } });
    expect(Buffer.from(await full.arrayBuffer()).readUInt32BE(20)).toBeGreaterThan(3000);

    const pdf = await fetch(`${s.url}/api/browser-sessions/${id}/pdf`, { method: 'POST', headers: { authorization: `Bearer ${owner.token}` } });
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(Buffer.from(await pdf.arrayBuffer()).subarray(0, 5).toString()).toBe('%PDF-');

    const go = await s.request('POST', `/api/browser-sessions/${id}/goto`, { token: owner.token, body: { url: site.url, waitUntil: 'domcontentloaded' } });
    expect(go.status).toBe(200);
    expect(go.body).toEqual({ url: site.url, title: 'Home', status: 200 });
    expect((await s.request('GET', `/api/browser-sessions/${id}`, { token: owner.token })).body.url).toBe(site.url);

    const d = await del(id);
    expect(d.status).toBe(200);
    expect(d.body).toMatchObject({ ok: true, message: 'Session destroyed', session: { status: 'stopped', reason: 'deleted' } });
    expect((await del(id)).status).toBe(200); // idempotent
    const after = await s.request('GET', `/api/browser-sessions/${id}`, { token: owner.token });
    expect(after.body).toMatchObject({ status: 'stopped', reason: 'deleted' });
    const gone = await s.request('GET', `/api/browser-sessions/${id}/html`, { token: owner.token });
    expect(gone.status).toBe(410);
    expect(gone.body.error.code).toBe('GONE');
  });

  it('answers caller mistakes with 4xx in the envelope and page failures with 502', async () => {
    const c = await create();
    const id = c.body.sessionId as string;
    try {
      const unknownType = await s.request('POST', `/api/browser-sessions/${id}/action`, { token: owner.token, body: { type: 'teleport' } });
      expect(unknownType.status).toBe(422);
      expect(unknownType.body.error.code).toBe('VALIDATION_ERROR');
      const noType = await s.request('POST', `/api/browser-sessions/${id}/action`, { token: owner.token, body: { selector: '#x' } });
      expect(noType.status).toBe(422);
      const neither = await s.request('POST', `/api/browser-sessions/${id}/extract`, { token: owner.token, body: {} });
      expect(neither.status).toBe(422);
      const badClip = await s.request('GET', `/api/browser-sessions/${id}/screenshot?clip=1,2`, { token: owner.token });
      expect(badClip.status).toBe(422);
      const badScheme = await s.request('POST', `/api/browser-sessions/${id}/goto`, { token: owner.token, body: { url: 'file:///etc/passwd' } });
      expect(badScheme.status).toBe(422);
      const privateTarget = await s.request('POST', `/api/browser-sessions/${id}/goto`, { token: owner.token, body: { url: 'http://10.1.2.3/' } });
      expect(privateTarget.status).toBe(422);
      const redirectPrivate = await s.request('POST', `/api/browser-sessions/${id}/goto`, { token: owner.token, body: { url: `${site.url}redirect?to=http://169.254.169.254/` } });
      expect([422, 502]).toContain(redirectPrivate.status);
      const noSuchSelector = await s.request('POST', `/api/browser-sessions/${id}/action`, { token: owner.token, body: { type: 'click', selector: '#nope', timeout: 300 } });
      expect(noSuchSelector.status).toBeGreaterThanOrEqual(400);
      expect(noSuchSelector.status).not.toBe(500);
      const refused = await s.request('POST', `/api/browser-sessions/${id}/goto`, { token: owner.token, body: { url: 'http://127.0.0.1:1/' } });
      expect(refused.status).toBe(502);
      const timeout = await s.request('POST', `/api/browser-sessions/${id}/goto`, { token: owner.token, body: { url: `${site.url}hang`, timeout: 500 } });
      expect(timeout.status).toBe(504);
      expect((await s.request('GET', '/api/browser-sessions/not-an-id', { token: owner.token })).status).toBe(404);
      expect((await s.request('GET', `/api/browser-sessions/${'0'.repeat(32)}`, { token: owner.token })).status).toBe(404);
      expect((await create({ viewport: { width: 5 } })).status).toBe(422);
    } finally {
      await del(id);
    }
  });

  it('checks ownership on every route (404 to others) and membership on create', async () => {
    const c = await create({ url: site.url });
    const id = c.body.sessionId as string;
    try {
      const t = other.token;
      const calls = [
        s.request('GET', `/api/browser-sessions/${id}`, { token: t }),
        s.request('POST', `/api/browser-sessions/${id}/goto`, { token: t, body: { url: site.url } }),
        s.request('POST', `/api/browser-sessions/${id}/action`, { token: t, body: { type: 'click', selector: 'h1' } }),
        s.request('POST', `/api/browser-sessions/${id}/extract`, { token: t, body: { selector: 'h1' } }),
        s.request('GET', `/api/browser-sessions/${id}/html`, { token: t }),
        s.request('GET', `/api/browser-sessions/${id}/screenshot`, { token: t }),
        s.request('POST', `/api/browser-sessions/${id}/pdf`, { token: t }),
        s.request('DELETE', `/api/browser-sessions/${id}`, { token: t }),
      ];
      for (const r of await Promise.all(calls)) {
        expect(r.status).toBe(404);
        expect(r.body.error.code).toBe('NOT_FOUND');
      }
      expect((await s.request('GET', `/api/browser-sessions/${id}`, { token: owner.token })).body.status).toBe('active');
      expect((await s.request('GET', `/api/browser-sessions/${id}`, { token: null })).status).toBe(401);
      const notMember = await create({}, other.token);
      expect(notMember.status).toBe(404);
    } finally {
      await del(id);
    }
  });

  it('answers 429 with Retry-After when the pool and its queue are full, and frees the slot on delete', async () => {
    const a = await create();
    const b = await create();
    expect([a.status, b.status]).toEqual([201, 201]);
    const full = await create();
    expect(full.status).toBe(429);
    expect(full.body.error.code).toBe('RATE_LIMITED');
    expect(Number(full.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await del(a.body.sessionId);
    const again = await create();
    expect(again.status).toBe(201);
    await del(b.body.sessionId);
    await del(again.body.sessionId);
  });

  it('closes a session after its idle timeout (durable timer) and gives the slot back', async () => {
    // A second web process with a short idle timeout: the actor captures the timeout at create.
    const quick = await startTestServer({ attachTo: s, env: { BROWSER_ALLOW_LOOPBACK: '1', BROWSER_IDLE_TIMEOUT_MS: '800' }, actors: { timerPollMs: 50 } });
    try {
      const c = await quick.request('POST', `/api/spaces/${spaceId}/browser-sessions`, { token: owner.token, body: {} });
      expect(c.status).toBe(201);
      const id = c.body.sessionId as string;
      let g;
      for (let i = 0; i < 100; i++) {
        g = await s.request('GET', `/api/browser-sessions/${id}`, { token: owner.token });
        if (g.body.status !== 'active') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(g!.body).toMatchObject({ status: 'stopped', reason: 'idle_timeout' });
      expect((await s.request('GET', `/api/browser-sessions/${id}/screenshot`, { token: owner.token })).status).toBe(410);
      // The page was closed on the worker: both slots are free again.
      const a = await create();
      const b = await create();
      expect([a.status, b.status]).toEqual([201, 201]);
      await del(a.body.sessionId);
      await del(b.body.sessionId);
    } finally {
      await quick.close();
    }
  });

  it('survives a web process restart: another process on the same database serves the session', async () => {
    const w1 = await startTestServer({ attachTo: s, env: { BROWSER_ALLOW_LOOPBACK: '1' } });
    const c = await w1.request('POST', `/api/spaces/${spaceId}/browser-sessions`, { token: owner.token, body: { url: site.url } });
    expect(c.status).toBe(201);
    await w1.close();
    const w2 = await startTestServer({ attachTo: s, env: { BROWSER_ALLOW_LOOPBACK: '1' } });
    try {
      const id = c.body.sessionId as string;
      expect((await w2.request('GET', `/api/browser-sessions/${id}`, { token: owner.token })).body.status).toBe('active');
      const h = await w2.request('GET', `/api/browser-sessions/${id}/html`, { token: owner.token });
      expect(h.status).toBe(200);
      expect(h.body.html).toContain('<h1>Home</h1>');
      expect((await w2.request('DELETE', `/api/browser-sessions/${id}`, { token: owner.token })).status).toBe(200);
    } finally {
      await w2.close();
    }
  });

  it('records a Chromium crash on the session without waiting for a call (worker reports it)', async () => {
    const c = await create({ url: site.url });
    const id = c.body.sessionId as string;
    // The oldest process under the pool's data root is the browser itself (renderers and helpers are its children).
    const pid = Number(spawnSync('pgrep', ['-o', '-f', '--', dataRoot], { encoding: 'utf8' }).stdout.trim());
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    let g;
    for (let i = 0; i < 100; i++) {
      g = await s.request('GET', `/api/browser-sessions/${id}`, { token: owner.token });
      if (g.body.status !== 'active') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(g!.body).toMatchObject({ status: 'failed', reason: 'browser_crashed' });
    // The pool relaunches its browser: a new session works.
    let again;
    for (let i = 0; i < 50; i++) {
      again = await create();
      if (again.status === 201) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(again!.status).toBe(201);
    await del(again!.body.sessionId);
  });
});
