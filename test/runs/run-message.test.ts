import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKind } from '../../actors/run/kind.ts';
import { startTestServer, type TestServer, type TestUser } from '../harness.ts';

// The run actor's final assistant message is written in the run's own commit (one statement, no savepoint, so that
// the commit goes in one flight). No run worker here: the test plays the worker through the actor.
let s: TestServer;
let u: TestUser;
let spaceId: string;

beforeAll(async () => {
  s = await startTestServer();
  u = await s.user('runmsg');
  spaceId = (await s.request('POST', '/api/spaces', { token: u.token, body: { name: 'Run messages' } })).body.space.id;
});
afterAll(() => s.close());

async function claimedRun() {
  const t = await s.request('POST', `/api/spaces/${spaceId}/threads`, { token: u.token, body: { title: 'T' } });
  const threadId = t.body.thread.id as string;
  await s.request('POST', `/api/threads/${threadId}/messages`, { token: u.token, body: { role: 'user', content: 'question' } });
  const runId = (await s.request('POST', `/api/threads/${threadId}/runs`, { token: u.token, body: {} })).body.run.id as string;
  const claim = await s.deps.actors.send(runKind, runId, { type: 'claim', workerId: 'w1', staleAfterMs: 60_000, deadlineMs: 600_000 });
  expect(claim).toMatchObject({ claimed: true });
  return { threadId, runId, leaseVersion: (claim as { leaseVersion: number }).leaseVersion };
}

const finish = (runId: string, leaseVersion: number, message: string) =>
  s.deps.actors.send(runKind, runId, { type: 'finish', workerId: 'w1', leaseVersion, outcome: 'completed', message });

describe('the final assistant message of a run', () => {
  it('is appended to the thread after the messages already there, with the run id in its metadata', async () => {
    const { threadId, runId, leaseVersion } = await claimedRun();
    await finish(runId, leaseVersion, 'the answer');
    const msgs = (await s.request('GET', `/api/threads/${threadId}/messages`, { token: u.token })).body.messages as Array<Record<string, unknown>>;
    expect(msgs.map((m) => [m.role, m.content, m.sequence])).toEqual([
      ['user', 'question', 0],
      ['assistant', 'the answer', 1],
    ]);
    expect(JSON.parse(msgs[1]!.metadata as string)).toEqual({ run_id: runId });
  });

  it('is dropped, and the run still completes with its events, when the thread was deleted meanwhile', async () => {
    const { threadId, runId, leaseVersion } = await claimedRun();
    expect((await s.request('DELETE', `/api/threads/${threadId}`, { token: u.token })).status).toBeLessThan(300);
    await finish(runId, leaseVersion, 'nobody reads this');
    const run = (await s.request('GET', `/api/runs/${runId}`, { token: u.token })).body.run;
    expect(run).toMatchObject({ status: 'completed', output: 'nobody reads this' });
    const types = (await s.request('GET', `/api/runs/${runId}/events`, { token: u.token })).body.events.map((e: { type: string }) => e.type);
    expect(types.slice(-2)).toEqual(['message', 'completed']);
    const [row] = await s.deps.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM messages WHERE thread_id = ${threadId} AND role = 'assistant'`;
    expect(row!.n).toBe(0);
  });
});
