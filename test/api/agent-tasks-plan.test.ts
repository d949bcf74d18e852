import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../harness.ts';
import { startLlmStandin } from '../support/llm-standins.ts';
import { until } from '../streams/fixture.ts';
import { team, type Team } from '../sessions/fixtures.ts';

/**
 * `POST /api/agent-tasks/:id/plan`: the plan is produced by a real run (runs worker, OpenAI wire against the local
 * stand-in model), linked to the task, and becomes the task's plan when the run ends.
 */
let llm: Awaited<ReturnType<typeof startLlmStandin>>;
let s: TestServer;
let t: Team;
beforeAll(async () => {
  llm = await startLlmStandin({ apiKey: 'sk-test' });
  s = await startTestServer({ workers: ['runs'], workerEnv: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: llm.openaiBaseURL, TAKOS_DEFAULT_PROVIDER: 'openai' } });
  t = await team(s, 'Planning');
});
afterAll(async () => {
  await s?.close();
  await llm?.close();
});

const newTask = async (body: Record<string, unknown> = {}) =>
  (await s.request('POST', `/api/spaces/${t.id}/agent-tasks`, { token: t.editor.token, body: { title: 'Fix the login page', ...body } })).body.task;
const plan = (id: string, body: Record<string, unknown> = {}, token = t.editor.token) => s.request('POST', `/api/agent-tasks/${id}/plan`, { token, body });
const getTask = async (id: string) => (await s.request('GET', `/api/agent-tasks/${id}`, { token: t.viewer.token })).body.task;

const ANSWER = {
  type: 'code_change',
  tools: ['repository_read', 'repository_commit'],
  needsRepo: true,
  needsRuntime: true,
  usePR: true,
  reasoning: 'The login page must change.',
  commitMessage: 'Fix login',
  steps: ['read', 'edit', 'commit'],
};

describe('planning through a run', () => {
  it('wait_ms: the run answers, its output (code fences stripped) becomes the task plan, 200 {task, plan, run}', async () => {
    const task = await newTask({ description: 'The login button does nothing on Safari.' });
    llm.setScript({ reply: '```json\n' + JSON.stringify(ANSWER) + '\n```' });
    const before = llm.requests.length;
    const r = await plan(task.id, { wait_ms: 15_000 });
    expect(r.status).toBe(200);
    expect(r.body.plan).toEqual({ ...ANSWER, needsReview: false, reviewType: 'self' });
    expect(r.body.run).toMatchObject({ status: 'completed', thread_id: task.thread_id });
    expect(r.body.task).toMatchObject({ plan_status: 'ready', plan_run_id: null, last_run_id: r.body.run.id, status: 'planned' });
    expect(JSON.parse(r.body.task.plan)).toEqual(r.body.plan);
    expect(r.body.task.latest_run).toMatchObject({ run_id: r.body.run.id, agent_type: 'planner', status: 'completed' });

    // The model saw the planning prompt with the task's description, as the last user message of the task thread.
    const sent = JSON.stringify(llm.requests[before]!.body);
    expect(sent).toContain('You are a task analyzer. Return only valid JSON.');
    expect(sent).toContain('Task: The login button does nothing on Safari.');
    const msgs = await s.request('GET', `/api/threads/${task.thread_id}/messages`, { token: t.viewer.token });
    expect(msgs.body.messages.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant']);
    expect(JSON.parse(msgs.body.messages[0].metadata)).toMatchObject({ agent_task_id: task.id, purpose: 'plan', run_id: r.body.run.id });
    const run = await s.request('GET', `/api/runs/${r.body.run.id}`, { token: t.viewer.token });
    expect(JSON.parse(run.body.run.input)).toEqual({ agent_task_id: task.id, purpose: 'plan' });
  });

  it('without wait_ms: 202 at once, plan pending; the plan appears when the run ends (no read needed to settle it)', async () => {
    const task = await newTask();
    llm.setScript({ reply: JSON.stringify({ type: 'tool_only', tools: ['web_fetch'], reviewType: 'separate_ai', needsReview: true }), chunkDelayMs: 30 });
    const r = await plan(task.id);
    expect(r.status).toBe(202);
    expect(r.body.plan).toBeNull();
    expect(r.body.task).toMatchObject({ plan_status: 'pending', plan_run_id: r.body.run.id, last_run_id: r.body.run.id });
    // A second request while the first runs: 409, no second run.
    const again = await plan(task.id);
    expect(again.status).toBe(409);
    expect(again.body.error.details).toEqual({ run_id: r.body.run.id });
    // Settled by the run actor's commit listener: watch the row, not the API (whose reads would settle it too).
    await until(async () => {
      const [row] = await s.kernel.sql<{ plan_run_id: string | null }[]>`SELECT plan_run_id FROM agent_tasks WHERE id = ${task.id}`;
      return row!.plan_run_id === null;
    }, 15_000, 'the plan to be settled');
    const v = await getTask(task.id);
    expect(v.plan_status).toBe('ready');
    expect(JSON.parse(v.plan)).toEqual({ type: 'tool_only', tools: ['web_fetch'], needsRepo: false, needsRuntime: false, usePR: false, needsReview: true, reviewType: 'separate_ai' });
    llm.setScript({ reply: 'ok' });
  });

  it('an answer that is not a plan yields the fallback; a failed run yields the fallback with its reason', async () => {
    const task = await newTask({ create_thread: false });
    llm.setScript({ reply: 'Sure! I would start by looking at the code.' });
    const r = await plan(task.id, { wait_ms: 15_000 });
    expect(r.status).toBe(200);
    expect(r.body.plan).toEqual({ type: 'conversation', tools: [], needsRepo: false, needsRuntime: false, usePR: false, needsReview: false, reviewType: 'self', reasoning: 'Analysis failed, defaulting to conversation' });
    // The task had no thread: planning gave it one.
    expect(r.body.task.thread_id).toBe(r.body.run.thread_id);
    expect(r.body.task.thread_title).toBe('Fix the login page');

    llm.setScript({ fail: { status: 400, message: 'model does not exist' } });
    const f = await plan(task.id, { wait_ms: 15_000 });
    expect(f.status).toBe(200);
    expect(f.body.run.status).toBe('failed');
    expect(f.body.plan.type).toBe('conversation');
    expect(f.body.plan.reasoning).toMatch(/^Planning run failed: .*model does not exist/);
    llm.setScript({ reply: 'ok' });
  });

  it('a plan set by hand while the run is under way wins', async () => {
    const task = await newTask();
    llm.setScript({ reply: JSON.stringify(ANSWER), chunkDelayMs: 50 });
    const r = await plan(task.id);
    expect(r.status).toBe(202);
    const p = await s.request('PATCH', `/api/agent-tasks/${task.id}`, { token: t.editor.token, body: { plan: 'do it by hand' } });
    expect(p.body.task).toMatchObject({ plan: 'do it by hand', plan_status: 'ready', plan_run_id: null });
    await until(async () => (await s.request('GET', `/api/runs/${r.body.run.id}`, { token: t.viewer.token })).body.run.status === 'completed', 15_000, 'the run to end');
    expect((await getTask(task.id)).plan).toBe('do it by hand');
    llm.setScript({ reply: 'ok' });
  });

  it('viewers and outsiders get 404; a cancelled planning run settles to the fallback', async () => {
    const task = await newTask();
    expect((await plan(task.id, {}, t.viewer.token)).status).toBe(404);
    expect((await plan(task.id, {}, t.outsider.token)).status).toBe(404);
    expect((await plan(task.id, { wait_ms: -1 })).status).toBe(422);
    llm.setScript({ hang: 'before-headers' });
    const r = await plan(task.id);
    expect((await s.request('POST', `/api/runs/${r.body.run.id}/cancel`, { token: t.editor.token })).status).toBe(200);
    await until(async () => (await getTask(task.id)).plan_status === 'ready', 15_000, 'the plan to settle');
    expect(JSON.parse((await getTask(task.id)).plan).reasoning).toMatch(/^Planning run cancelled/);
    llm.setScript({ reply: 'ok' });
  });
});
