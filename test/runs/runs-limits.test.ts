import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../harness.ts';

// No worker runs here: created runs stay queued, which is what the concurrency limits count.
let s: TestServer;
let other: TestServer;
beforeAll(async () => {
  s = await startTestServer();
  other = await startTestServer({ attachTo: s });
});
afterAll(async () => {
  await other.close();
  await s.close();
});

async function spaceWithThread(name: string) {
  const u = await s.user(name);
  const sp = await s.request('POST', '/api/spaces', { token: u.token, body: { name } });
  const t = await s.request('POST', `/api/spaces/${sp.body.space.id}/threads`, { token: u.token, body: {} });
  return { u, spaceId: sp.body.space.id as string, threadId: t.body.thread.id as string };
}

describe('run rate limits (spec 1.5), enforced across processes', () => {
  it('at most 20 queued or running top-level runs per space, even when created in parallel on two processes', async () => {
    const { u, threadId } = await spaceWithThread('concur');
    const results = await Promise.all(
      Array.from({ length: 26 }, (_, i) => (i % 2 ? other : s).request('POST', `/api/threads/${threadId}/runs`, { token: u.token, body: {} })),
    );
    const ok = results.filter((r) => r.status === 201);
    const limited = results.filter((r) => r.status === 429);
    expect(ok).toHaveLength(20);
    expect(limited).toHaveLength(6);
    expect(limited[0]!.body.error).toMatchObject({ code: 'RATE_LIMITED', message: 'Too many concurrent runs: max 20 per workspace' });
    expect(limited[0]!.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('child runs have their own limits (12 concurrent per space)', async () => {
    const { u, threadId } = await spaceWithThread('childlim');
    const parent = (await s.request('POST', `/api/threads/${threadId}/runs`, { token: u.token, body: {} })).body.run.id;
    const results = [];
    for (let i = 0; i < 14; i++) results.push(await s.request('POST', `/api/threads/${threadId}/runs`, { token: u.token, body: { parent_run_id: parent } }));
    expect(results.filter((r) => r.status === 201)).toHaveLength(12);
    expect(results.at(-1)!.body.error.message).toBe('Too many concurrent child runs: max 12 per workspace');
  });

  it('30 runs per minute per requester, over all their spaces', async () => {
    const u = await s.user('perminute');
    const threads: string[] = [];
    for (let i = 0; i < 2; i++) {
      const sp = await s.request('POST', '/api/spaces', { token: u.token, body: { name: `pm ${i}` } });
      threads.push((await s.request('POST', `/api/spaces/${sp.body.space.id}/threads`, { token: u.token, body: {} })).body.thread.id);
    }
    let created = 0;
    let last = null;
    for (let i = 0; i < 31; i++) {
      // Alternate spaces so the per-space concurrency limit (20) is not what stops it.
      last = await s.request('POST', `/api/threads/${threads[i % 2]}/runs`, { token: u.token, body: {} });
      if (last.status === 201) created++;
    }
    expect(created).toBe(30);
    expect(last!.status).toBe(429);
    expect(last!.body.error.message).toBe('Rate limit exceeded: max 30 runs per minute');
    const retryAfter = Number(last!.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
  });

  it('a cancelled run frees its concurrency slot', async () => {
    const { u, threadId } = await spaceWithThread('freeslot');
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await s.request('POST', `/api/threads/${threadId}/runs`, { token: u.token, body: {} })).body.run.id);
    expect((await s.request('POST', `/api/threads/${threadId}/runs`, { token: u.token, body: {} })).status).toBe(429);
    expect((await s.request('POST', `/api/runs/${ids[0]}/cancel`, { token: u.token })).status).toBe(200);
    expect((await s.request('POST', `/api/threads/${threadId}/runs`, { token: u.token, body: {} })).status).toBe(201);
  });
});
