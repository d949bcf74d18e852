import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '../harness.ts';
import { until } from '../streams/fixture.ts';
import { list, storedCount, waitStored } from './notifications-fixtures.ts';

/** Runs notify the user who started them, through the run actor's commit listener and the inbox actor. */
let s: TestServer;
let owner: TestUser;
let editor: TestUser;
let spaceId: string;

beforeAll(async () => {
  s = await startTestServer({ workers: ['runs'] });
  owner = await s.user();
  editor = await s.user();
  const sp = await s.request('POST', '/api/spaces', { token: owner.token, body: { name: 'Runs Notify' } });
  spaceId = sp.body.space.id;
  await s.request('POST', `/api/spaces/${spaceId}/members`, { token: owner.token, body: { username: editor.username, role: 'editor' } });
  await waitStored(s, editor, 1); // workspace.invite
});
afterAll(() => s.close());

async function startRun(by: TestUser, body: Record<string, unknown> = {}) {
  const t = await s.request('POST', `/api/spaces/${spaceId}/threads`, { token: by.token, body: { title: 'T' } });
  await s.request('POST', `/api/threads/${t.body.thread.id}/messages`, { token: by.token, body: { role: 'user', content: 'hello there' } });
  const r = await s.request('POST', `/api/threads/${t.body.thread.id}/runs`, { token: by.token, body });
  expect(r.status).toBe(201);
  return { runId: r.body.run.id as string, threadId: t.body.thread.id as string };
}

async function waitRun(runId: string, statuses: string[]) {
  await until(async () => statuses.includes((await s.request('GET', `/api/runs/${runId}`, { token: owner.token })).body.run.status), 20_000, `run ${runId}`);
}

describe('run notifications', () => {
  it('a completed run notifies its requester (run.completed), nobody else', async () => {
    const { runId, threadId } = await startRun(editor);
    await waitRun(runId, ['completed']);
    await waitStored(s, editor, 2);
    const [n] = await list(s, editor, '?type=run.completed');
    expect(n).toMatchObject({
      type: 'run.completed',
      space_id: spaceId,
      title: 'Run completed',
      body: '[demo model] hello there',
      data: { run_id: runId, thread_id: threadId, space_id: spaceId, status: 'completed' },
    });
    expect(await list(s, owner, '?type=run.completed')).toEqual([]);
  });

  it('a failed run notifies its requester (run.failed) with the error', async () => {
    const before = await storedCount(s, owner);
    const { runId } = await startRun(owner, { model: 'takos-demo-missing' });
    await waitRun(runId, ['failed']);
    await waitStored(s, owner, before + 1);
    const [n] = await list(s, owner, '?type=run.failed');
    const run = (await s.request('GET', `/api/runs/${runId}`, { token: owner.token })).body.run;
    expect(n).toMatchObject({ type: 'run.failed', title: 'Run failed', body: run.error, data: { run_id: runId, status: 'failed' } });
    expect(run.error).toBeTruthy();
  });

  it('a cancelled run notifies nobody', async () => {
    const before = await storedCount(s, owner);
    const t = await s.request('POST', `/api/spaces/${spaceId}/threads`, { token: owner.token, body: {} });
    const r = await s.request('POST', `/api/threads/${t.body.thread.id}/runs`, { token: owner.token, body: {} });
    await s.request('POST', `/api/runs/${r.body.run.id}/cancel`, { token: owner.token });
    await waitRun(r.body.run.id, ['cancelled', 'completed']);
    // Let any listener work finish, then check nothing arrived for a cancelled run.
    await new Promise((res) => setTimeout(res, 300));
    const run = (await s.request('GET', `/api/runs/${r.body.run.id}`, { token: owner.token })).body.run;
    expect(await storedCount(s, owner)).toBe(before + (run.status === 'completed' ? 1 : 0));
  });

  it('the same terminal event told twice makes one notification (command id = run id + event id)', async () => {
    const { runId } = await startRun(owner);
    await waitRun(runId, ['completed']);
    await until(async () => (await list(s, owner, '?type=run.completed')).some((n) => (n.data as { run_id: string }).run_id === runId), 5_000, 'notification');
    const events = (await s.request('GET', `/api/runs/${runId}/events`, { token: owner.token })).body.events as Array<{ id: number; type: string }>;
    const terminal = events.find((e) => e.type === 'completed')!;
    const before = await storedCount(s, owner);
    // A redelivery of the same cause, as the run listener would send it.
    const { notifyUser } = await import('../../actors/inbox/producers.ts');
    await notifyUser(s.deps.actors, owner.id, { type: 'run.completed', title: 'Run completed' }, `run:${runId}:${terminal.id}`);
    await notifyUser(s.deps.actors, owner.id, { type: 'run.completed', title: 'Other' }, `run:other:${terminal.id}`);
    await waitStored(s, owner, before + 1);
    await new Promise((res) => setTimeout(res, 200));
    expect(await storedCount(s, owner)).toBe(before + 1);
  });
});
