import { describe, expect, it } from 'vitest';
import {
  collectReply,
  createModelClient,
  DEMO_MODEL,
  DEMO_PREFIX,
  loadModelConfig,
  selectModel,
  type ModelChunk,
} from '../../workers/runs/model/index.ts';

/** The built-in demo model: what a fresh install without any provider key streams. */
describe('demo model', () => {
  const noKeys = loadModelConfig({ TAKOS_DEMO_DELAY_MS: '0' });
  const demo = (delayMs = 0) => createModelClient(selectModel({ config: noKeys, spaceProvider: 'openai', spaceModel: 'gpt-5.4-nano' }), { timeoutMs: 10_000, demoDelayMs: delayMs });
  const signal = () => new AbortController().signal;

  it('is what a space without keys gets, and it echoes the last user message word by word, marked as a demo', async () => {
    const client = demo();
    expect(client.provider).toBe('demo');
    const chunks: ModelChunk[] = [];
    const stream = client.streamChat({
      model: DEMO_MODEL,
      messages: [
        { role: 'system', content: 'ignored system prompt' },
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: 'an answer' },
        { role: 'user', content: '  Hello   there, runtime!  ' },
      ],
      signal: signal(),
    });
    for await (const c of stream) chunks.push(c);
    const deltas = chunks.filter((c) => c.type === 'delta').map((c) => c.text);
    expect(deltas).toEqual([DEMO_PREFIX, 'Hello   ', 'there, ', 'runtime!']);
    expect(deltas.join('')).toBe('[demo model] Hello   there, runtime!');
    expect(chunks.at(-2)).toEqual({ type: 'usage', inputTokens: 3 + 2 + 2 + 3, outputTokens: 4 });
    expect(chunks.at(-1)).toEqual({ type: 'done', finishReason: 'stop', raw: 'stop' });
  });

  it('says so when there is nothing to echo', async () => {
    const r = await collectReply(demo().streamChat({ model: DEMO_MODEL, messages: [{ role: 'system', content: 's' }], signal: signal() }));
    expect(r.text).toBe('[demo model] (no user message to echo)');
  });

  it('stops at maxTokens with finish length', async () => {
    const r = await collectReply(demo().streamChat({ model: DEMO_MODEL, messages: [{ role: 'user', content: 'a b c d e' }], maxTokens: 3, signal: signal() }));
    expect(r).toEqual({ text: '[demo model] a b ', usage: { inputTokens: 5, outputTokens: 3 }, finishReason: 'length', raw: 'length' });
  });

  it('stops mid-stream when cancelled after a piece', async () => {
    const ac = new AbortController();
    const seen: string[] = [];
    const err = await collectReply(demo().streamChat({ model: DEMO_MODEL, messages: [{ role: 'user', content: 'x y z' }], signal: ac.signal }), (t) => {
      seen.push(t);
      ac.abort();
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'cancelled' });
    expect(seen).toEqual([DEMO_PREFIX]);
  });

  it('honours cancellation and its deadline while waiting between pieces', async () => {
    const ac = new AbortController();
    const p = collectReply(demo(60_000).streamChat({ model: DEMO_MODEL, messages: [{ role: 'user', content: 'x y z' }], signal: ac.signal })).catch((e: unknown) => e);
    ac.abort();
    expect(await p).toMatchObject({ kind: 'cancelled', provider: 'demo' });
    const t = await collectReply(demo(60_000).streamChat({ model: DEMO_MODEL, messages: [{ role: 'user', content: 'x' }], timeoutMs: 50, signal: signal() })).catch((e: unknown) => e);
    expect(t).toMatchObject({ kind: 'timeout', retryable: true });
  });

  it('refuses other model names like a real provider would', async () => {
    const err = await collectReply(demo().streamChat({ model: 'gpt-5.4', messages: [{ role: 'user', content: 'x' }], signal: signal() })).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'bad_request', provider: 'demo' });
  });
});
