import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '../harness.ts';
import { startLlmStandin } from '../support/llm-standins.ts';
import { spawnApp, type AppChild } from '../support/spawn-app.ts';
import { until } from '../streams/fixture.ts';
import { startRunsWorker } from '../../workers/runs/worker.ts';

type Standin = Awaited<ReturnType<typeof startLlmStandin>>;
let llm: Standin;
const FAST = { leaseTtlMs: 1_000, renewEveryMs: 250, timerPollMs: 50 };

beforeAll(async () => {
  llm = await startLlmStandin({ apiKey: 'sk-test' });
});
afterAll(() => llm.close());

const providerEnv = () => ({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: llm.openaiBaseURL, TAKOS_DEFAULT_PROVIDER: 'openai' });

async function setup(s: TestServer, name: string): Promise<{ owner: TestUser; threadId: string }> {
  const owner = await s.user(name);
  const sp = await s.request('POST', '/api/spaces', { token: owner.token, body: { name: `${name} space` } });
  const t = await s.request('POST', `/api/spaces/${sp.body.space.id}/threads`, { token: owner.token, body: {} });
  await s.request('POST', `/api/threads/${t.body.thread.id}/messages`, { token: owner.token, body: { role: 'user', content: 'what is two plus two' } });
  return { owner, threadId: t.body.thread.id };
}

async function run(s: TestServer, owner: TestUser, threadId: string) {
  const r = await s.request('POST', `/api/threads/${threadId}/runs`, { token: owner.token, body: {} });
  expect(r.status).toBe(201);
  return r.body.run.id as string;
}

const getRun = async (s: TestServer, owner: TestUser, id: string) => (await s.request('GET', `/api/runs/${id}`, { token: owner.token })).body.run;
const events = async (s: TestServer, owner: TestUser, id: string) =>
  (await s.request('GET', `/api/runs/${id}/events`, { token: owner.token })).body.events as Array<{ id: number; type: string; data: string }>;

async function waitStatus(s: TestServer, owner: TestUser, id: string, statuses: string[], timeoutMs = 20_000) {
  let last = '';
  await until(async () => statuses.includes((last = (await getRun(s, owner, id)).status)), timeoutMs, () => `run ${id} to reach ${statuses} (is ${last})`);
  return getRun(s, owner, id);
}

function expectContiguous(evs: Array<{ id: number }>) {
  expect(evs.map((e) => e.id)).toEqual(evs.map((_, i) => i + 1));
}

describe('runs against a real provider client (OpenAI wire, local stand-in)', () => {
  let s: TestServer;
  let owner: TestUser;
  let threadId: string;
  beforeAll(async () => {
    s = await startTestServer({ workers: ['runs'], workerEnv: providerEnv(), actors: FAST });
    ({ owner, threadId } = await setup(s, 'prov'));
  });
  afterAll(() => s.close());

  it('streams the provider reply into events and the thread', async () => {
    llm.setScript({ reply: 'Four is the answer.', chunkDelayMs: 1 });
    const before = llm.requests.length;
    const id = await run(s, owner, threadId);
    const r = await waitStatus(s, owner, id, ['completed', 'failed']);
    expect(r.status).toBe('completed');
    expect(r.output).toBe('Four is the answer.');
    const req = llm.requests[before]!;
    expect(JSON.stringify(req.body)).toContain('what is two plus two');
    const evs = await events(s, owner, id);
    expectContiguous(evs);
    expect(JSON.parse(evs[0]!.data)).toMatchObject({ provider: 'openai' });
  });

  it('cancellation reaches the model call within 2 s', async () => {
    llm.setScript({ reply: 'one two three four five', hang: 'after-chunks', hangAfterChunks: 2 });
    const before = llm.requests.length;
    const id = await run(s, owner, threadId);
    await until(async () => (await events(s, owner, id)).some((e) => e.type === 'message_delta'), 10_000, 'first delta');
    const req = llm.requests[before]!;
    const t0 = Date.now();
    const c = await s.request('POST', `/api/runs/${id}/cancel`, { token: owner.token });
    expect(c.body).toEqual({ success: true });
    const closed = await req.closed;
    expect(closed.completed).toBe(false);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect((await getRun(s, owner, id)).status).toBe('cancelled');
  });

  it('a non-retryable provider error fails the run with the reason', async () => {
    llm.setScript({ fail: { status: 401, message: 'bad key' } });
    const id = await run(s, owner, threadId);
    const r = await waitStatus(s, owner, id, ['completed', 'failed']);
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/auth/i);
    const evs = await events(s, owner, id);
    expect(evs.at(-1)!.type).toBe('error');
  });

  it('retryable errors are retried with backoff, then dead-lettered with the last error', async () => {
    llm.setScript({ fail: { status: 500, message: 'upstream broke' } });
    const before = llm.requests.length;
    const id = await run(s, owner, threadId);
    const r = await waitStatus(s, owner, id, ['completed', 'failed'], 30_000);
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/^DLQ: Run failed permanently after max retries\. Previous error: .*upstream/);
    expect(llm.requests.length - before).toBe(3);
    const evs = await events(s, owner, id);
    expectContiguous(evs);
    expect(evs.filter((e) => e.type === 'started')).toHaveLength(3);
    expect(JSON.parse(evs.at(-1)!.data)).toMatchObject({ status: 'failed', permanent: true });
  }, 40_000);
});

describe('crashes', () => {
  let s: TestServer;
  let owner: TestUser;
  let threadId: string;
  const children: AppChild[] = [];
  beforeAll(async () => {
    s = await startTestServer({ actors: FAST });
    ({ owner, threadId } = await setup(s, 'crash'));
  });
  afterAll(async () => {
    for (const c of children) if (c.proc.exitCode === null) await c.kill9();
    await s.close();
  });

  it('kill -9 of the run worker mid-run: the run is recovered and finishes, with no lost or duplicate event ids', async () => {
    llm.setScript({ reply: Array.from({ length: 30 }, (_, i) => `w${i}`).join(' '), chunkDelayMs: 100 });
    const child = await spawnApp(s, { ...providerEnv(), CHILD_HOSTING: '0', CHILD_RUNS_WORKER: '1', CHILD_STALE_MS: '2000', CHILD_HEARTBEAT_MS: '300' });
    children.push(child);
    const id = await run(s, owner, threadId);
    await until(async () => (await events(s, owner, id)).some((e) => e.type === 'message_delta'), 15_000, 'child worker streaming');
    await child.kill9();
    // A fresh worker takes the run over once the dead one's heartbeat is stale (run actor `stale` timer).
    llm.setScript({ reply: 'recovered reply', chunkDelayMs: 1 });
    const worker = startRunsWorker(s.deps, { env: { ...providerEnv() }, staleAfterMs: 2_000, heartbeatMs: 300 });
    try {
      const r = await waitStatus(s, owner, id, ['completed', 'failed'], 40_000);
      expect(r.status).toBe('completed');
      expect(r.output).toBe('recovered reply');
      const evs = await events(s, owner, id);
      expectContiguous(evs);
      expect(evs.filter((e) => e.type === 'started').length).toBeGreaterThanOrEqual(2);
      expect(evs.filter((e) => e.type === 'completed')).toHaveLength(1);
      const msgs = (await s.request('GET', `/api/threads/${threadId}/messages`, { token: owner.token })).body.messages as Array<{ role: string; content: string }>;
      expect(msgs.filter((m) => m.content === 'recovered reply')).toHaveLength(1);
    } finally {
      await worker.close();
    }
  }, 60_000);

  it('kill -9 of the process owning the run’s partition: another process takes over and the run finishes', async () => {
    const child = await spawnApp(s, { CHILD_HOSTING: '1', CHILD_RUNS_WORKER: '0' });
    children.push(child);
    await until(() => child.owned.length > 0, 10_000, 'child to own partitions');
    llm.setScript({ reply: Array.from({ length: 20 }, (_, i) => `p${i}`).join(' '), chunkDelayMs: 100 });
    const worker = startRunsWorker(s.deps, { env: { ...providerEnv() }, staleAfterMs: 3_000, heartbeatMs: 300 });
    try {
      // Create runs until one lands on a partition the child owns.
      let id = '';
      for (let i = 0; i < 40 && !id; i++) {
        const candidate = await run(s, owner, threadId);
        if (child.owned.includes(s.deps.actors.partitionOf('run', candidate))) id = candidate;
        else await waitStatus(s, owner, candidate, ['completed', 'failed']);
      }
      expect(id).not.toBe('');
      await until(async () => (await events(s, owner, id)).some((e) => e.type === 'message_delta'), 15_000, 'run streaming through the child-owned actor');
      await child.kill9();
      const r = await waitStatus(s, owner, id, ['completed', 'failed'], 40_000);
      expect(r.status === 'completed' || (r.status === 'failed' && typeof r.error === 'string' && r.error.length > 0)).toBe(true);
      const evs = await events(s, owner, id);
      expectContiguous(evs);
      expect(evs.filter((e) => ['completed', 'error', 'run.failed'].includes(e.type))).toHaveLength(1);
    } finally {
      await worker.close();
    }
  }, 90_000);
});
