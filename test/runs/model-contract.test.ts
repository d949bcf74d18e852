import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectReply, createAnthropicClient, createOpenAIClient, ModelError, type ModelChunk, type ModelClient } from '../../workers/runs/model/index.ts';
import { startLlmStandin, type LlmStandin } from '../support/llm-standins.ts';

/**
 * One contract, both wire formats: every behaviour the run worker relies on, checked through the official SDKs
 * over real HTTP against the stand-in provider. Protocol details (headers, body fields) are in model-openai /
 * model-anthropic tests.
 */
const KEY = 'sk-standin-key';

interface Wire {
  name: 'openai' | 'anthropic';
  client(llm: LlmStandin, opts?: { apiKey?: string; timeoutMs?: number; baseURL?: string }): ModelClient;
}

const wires: Wire[] = [
  {
    name: 'openai',
    client: (llm, o = {}) =>
      createOpenAIClient({ provider: 'openai', apiKey: o.apiKey ?? KEY, baseURL: o.baseURL ?? llm.openaiBaseURL, maxTokensField: 'max_completion_tokens', defaultTimeoutMs: o.timeoutMs ?? 10_000 }),
  },
  {
    name: 'anthropic',
    client: (llm, o = {}) =>
      createAnthropicClient({ provider: 'anthropic', apiKey: o.apiKey ?? KEY, baseURL: o.baseURL ?? llm.anthropicBaseURL, defaultTimeoutMs: o.timeoutMs ?? 10_000, defaultMaxTokens: 1024 }),
  },
];

const messages = [
  { role: 'system' as const, content: 'Be brief.' },
  { role: 'user' as const, content: 'Say hello to the world' },
];

async function expectModelError(p: Promise<unknown>): Promise<ModelError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ModelError);
  return err as ModelError;
}

describe.each(wires)('model contract over $name wire', (wire) => {
  let llm: LlmStandin;
  beforeAll(async () => {
    llm = await startLlmStandin({ apiKey: KEY });
  });
  afterAll(() => llm.close());

  const call = (client: ModelClient, signal = new AbortController().signal, extra: { timeoutMs?: number; maxTokens?: number } = {}) =>
    client.streamChat({ model: 'm-1', messages, signal, ...extra });

  it('streams deltas that assemble to the full reply, then usage, then done', async () => {
    const reply = 'Hello world, this reply arrives in several pieces.';
    llm.setScript({ reply, usage: { inputTokens: 17, outputTokens: 9 } });
    const chunks: ModelChunk[] = [];
    for await (const c of call(wire.client(llm))) chunks.push(c);
    const deltas = chunks.filter((c) => c.type === 'delta');
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.map((d) => d.text).join('')).toBe(reply);
    expect(chunks.at(-2)).toEqual({ type: 'usage', inputTokens: 17, outputTokens: 9 });
    expect(chunks.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
  });

  it('maps a length stop to finishReason "length"', async () => {
    llm.setScript({ reply: 'cut short', finishReason: wire.name === 'openai' ? 'length' : 'max_tokens' });
    const r = await collectReply(call(wire.client(llm), undefined, { maxTokens: 2 }));
    expect(r).toMatchObject({ text: 'cut short', finishReason: 'length' });
  });

  it('a wrong key is an auth error, not retried', async () => {
    llm.setScript({});
    const before = llm.requests.length;
    const err = await expectModelError(collectReply(call(wire.client(llm, { apiKey: 'sk-wrong' }))));
    expect(err).toMatchObject({ kind: 'auth', status: 401, retryable: false, provider: wire.name });
    expect(llm.requests.length - before).toBe(1);
  });

  it('429 is rate_limited with the provider retry-after', async () => {
    llm.enqueue({ fail: { status: 429, retryAfter: '7' } });
    const err = await expectModelError(collectReply(call(wire.client(llm))));
    expect(err).toMatchObject({ kind: 'rate_limited', status: 429, retryAfterMs: 7000, retryable: true });
  });

  it('500 is upstream and retryable, with exactly one request sent (SDK retries off)', async () => {
    llm.enqueue({ fail: { status: 500 } });
    const before = llm.requests.length;
    const err = await expectModelError(collectReply(call(wire.client(llm))));
    expect(err).toMatchObject({ kind: 'upstream', status: 500, retryable: true });
    expect(llm.requests.length - before).toBe(1);
  });

  it('400 is bad_request and keeps the provider message', async () => {
    llm.enqueue({ fail: { status: 400, message: 'temperature: must be at most 1' } });
    const err = await expectModelError(collectReply(call(wire.client(llm))));
    expect(err).toMatchObject({ kind: 'bad_request', status: 400, retryable: false });
    expect(err.message).toContain('temperature: must be at most 1');
  });

  it('a server that never answers times out at the call deadline and the connection is closed', async () => {
    llm.enqueue({ hang: 'before-headers' });
    const n = llm.requests.length;
    const err = await expectModelError(collectReply(call(wire.client(llm), undefined, { timeoutMs: 300 })));
    expect(err).toMatchObject({ kind: 'timeout', retryable: true });
    expect(await llm.requests[n]!.closed).toEqual({ completed: false });
  });

  it('a stream that stalls half-way times out too (the SDK timeout alone would not catch it)', async () => {
    llm.enqueue({ reply: 'one two three', hang: 'after-chunks', hangAfterChunks: 1 });
    const n = llm.requests.length;
    const seen: string[] = [];
    const err = await expectModelError(collectReply(call(wire.client(llm), undefined, { timeoutMs: 400 }), (t) => void seen.push(t)));
    expect(err.kind).toBe('timeout');
    expect(seen).toEqual(['one ']);
    expect(await llm.requests[n]!.closed).toEqual({ completed: false });
  });

  it('abort mid-stream ends the call as cancelled within 2 s and closes the HTTP stream', async () => {
    llm.enqueue({ reply: Array.from({ length: 200 }, (_, i) => `w${i}`).join(' '), chunkDelayMs: 20 });
    const n = llm.requests.length;
    const ac = new AbortController();
    let abortedAt = 0;
    const err = await expectModelError(
      collectReply(call(wire.client(llm), ac.signal), (t) => {
        if (t.startsWith('w2') && !abortedAt) {
          abortedAt = performance.now();
          ac.abort();
        }
      }),
    );
    const elapsed = performance.now() - abortedAt;
    expect(err).toMatchObject({ kind: 'cancelled', retryable: false });
    expect(elapsed).toBeLessThan(2000);
    expect(await llm.requests[n]!.closed).toEqual({ completed: false });
  });

  it('abort before headers is cancelled too', async () => {
    llm.enqueue({ hang: 'before-headers' });
    const n = llm.requests.length;
    const ac = new AbortController();
    const p = collectReply(call(wire.client(llm), ac.signal));
    await llm.waitForRequest(n);
    ac.abort();
    expect((await expectModelError(p)).kind).toBe('cancelled');
    expect(await llm.requests[n]!.closed).toEqual({ completed: false });
  });

  it('an already aborted signal sends nothing', async () => {
    const before = llm.requests.length;
    const ac = new AbortController();
    ac.abort();
    expect((await expectModelError(collectReply(call(wire.client(llm), ac.signal)))).kind).toBe('cancelled');
    expect(llm.requests.length).toBe(before);
  });

  it('breaking out of the loop closes the HTTP stream', async () => {
    llm.enqueue({ reply: 'a b c d e f g h', chunkDelayMs: 20 });
    const n = llm.requests.length;
    for await (const c of call(wire.client(llm))) if (c.type === 'delta') break;
    expect(await llm.requests[n]!.closed).toEqual({ completed: false });
  });

  it('a connection cut mid-reply is upstream (retryable), never a silent short reply', async () => {
    llm.enqueue({ reply: 'one two three four', dropAfterChunks: 2 });
    const err = await expectModelError(collectReply(call(wire.client(llm))));
    expect(err).toMatchObject({ kind: 'upstream', retryable: true });
  });

  it('an in-stream rate-limit error event is rate_limited; an overload event is upstream', async () => {
    llm.enqueue({ reply: 'one two', streamError: { afterChunks: 1, type: wire.name === 'openai' ? 'rate_limit_exceeded' : 'rate_limit_error', message: 'slow down' } });
    const e1 = await expectModelError(collectReply(call(wire.client(llm))));
    expect(e1.kind).toBe('rate_limited');
    expect(e1.message).toContain('slow down');
    llm.enqueue({ reply: 'one two', streamError: { afterChunks: 1, type: wire.name === 'openai' ? 'server_error' : 'overloaded_error', message: 'Overloaded' } });
    expect((await expectModelError(collectReply(call(wire.client(llm))))).kind).toBe('upstream');
  });

  it('connection refused is upstream', async () => {
    const dead = await startLlmStandin();
    const base = wire.name === 'openai' ? dead.openaiBaseURL : dead.anthropicBaseURL;
    await dead.close();
    const err = await expectModelError(collectReply(call(wire.client(llm, { baseURL: base }))));
    expect(err).toMatchObject({ kind: 'upstream', retryable: true });
    expect(err.message).toMatch(/ECONNREFUSED|connection/i);
  });
});
