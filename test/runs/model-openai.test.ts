import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectReply, createOpenAIClient, ModelError } from '../../workers/runs/model/index.ts';
import { startLlmStandin, type LlmStandin } from '../support/llm-standins.ts';

/** What the OpenAI-compatible client puts on the wire, as the stand-in received it. */
describe('OpenAI-compatible client on the wire', () => {
  let llm: LlmStandin;
  beforeAll(async () => {
    llm = await startLlmStandin({ models: ['gpt-5.4-nano', 'llama3:8b'] });
  });
  afterAll(() => llm.close());

  const client = (o: { apiKey?: string | null; field?: 'max_completion_tokens' | 'max_tokens' } = {}) =>
    createOpenAIClient({
      provider: 'openai',
      apiKey: o.apiKey === undefined ? 'sk-abc' : o.apiKey,
      baseURL: llm.openaiBaseURL,
      maxTokensField: o.field ?? 'max_completion_tokens',
      defaultTimeoutMs: 10_000,
    });
  const signal = () => new AbortController().signal;

  it('sends model, messages in order, streaming with usage, max tokens and temperature; bearer key', async () => {
    const n = llm.requests.length;
    const messages = [
      { role: 'system' as const, content: 'You are terse.' },
      { role: 'user' as const, content: 'Hi' },
      { role: 'assistant' as const, content: 'Hello.' },
      { role: 'user' as const, content: 'Again' },
    ];
    await collectReply(client().streamChat({ model: 'gpt-5.4-nano', messages, maxTokens: 50, temperature: 0.2, signal: signal() }));
    const req = llm.requests[n]!;
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.headers.authorization).toBe('Bearer sk-abc');
    expect(req.body).toEqual({
      model: 'gpt-5.4-nano',
      messages,
      stream: true,
      stream_options: { include_usage: true },
      max_completion_tokens: 50,
      temperature: 0.2,
    });
    expect(req.headers['x-stainless-retry-count']).toBe('0');
  });

  it('compatible servers get max_tokens; a keyless client still authenticates with a placeholder', async () => {
    const n = llm.requests.length;
    await collectReply(client({ apiKey: null, field: 'max_tokens' }).streamChat({ model: 'llama3:8b', messages: [{ role: 'user', content: 'x' }], maxTokens: 9, signal: signal() }));
    expect(llm.requests[n]!.body).toMatchObject({ model: 'llama3:8b', max_tokens: 9 });
    expect(llm.requests[n]!.body).not.toHaveProperty('max_completion_tokens');
    expect(llm.requests[n]!.headers.authorization).toBe('Bearer no-key');
  });

  it("does not pick up this process's OPENAI_ORG_ID / OPENAI_PROJECT_ID", async () => {
    process.env.OPENAI_ORG_ID = 'org-leak';
    process.env.OPENAI_PROJECT_ID = 'proj-leak';
    try {
      const n = llm.requests.length;
      await collectReply(client().streamChat({ model: 'gpt-5.4-nano', messages: [{ role: 'user', content: 'x' }], signal: signal() }));
      expect(llm.requests[n]!.headers['openai-organization']).toBeUndefined();
      expect(llm.requests[n]!.headers['openai-project']).toBeUndefined();
    } finally {
      delete process.env.OPENAI_ORG_ID;
      delete process.env.OPENAI_PROJECT_ID;
    }
  });

  it('an unknown model is passed through and its 404 becomes bad_request with the provider message', async () => {
    const n = llm.requests.length;
    const err = await collectReply(client().streamChat({ model: 'gpt-9-imaginary', messages: [{ role: 'user', content: 'x' }], signal: signal() })).catch((e: unknown) => e);
    expect(llm.requests[n]!.body.model).toBe('gpt-9-imaginary');
    expect(err).toBeInstanceOf(ModelError);
    expect(err).toMatchObject({ kind: 'bad_request', status: 404 });
    expect((err as ModelError).message).toContain('The model `gpt-9-imaginary` does not exist');
  });

  it('a server that ignores include_usage: no usage chunk, still done', async () => {
    llm.enqueue({ reply: 'no counts here', usage: false });
    const r = await collectReply(client().streamChat({ model: 'gpt-5.4-nano', messages: [{ role: 'user', content: 'x' }], signal: signal() }));
    expect(r).toEqual({ text: 'no counts here', usage: null, finishReason: 'stop', raw: 'stop' });
  });

  it('retry-after-ms wins over retry-after', async () => {
    llm.enqueue({ fail: { status: 429, retryAfter: '20', retryAfterMs: 1500 } });
    const err = await collectReply(client().streamChat({ model: 'gpt-5.4-nano', messages: [{ role: 'user', content: 'x' }], signal: signal() })).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'rate_limited', retryAfterMs: 1500 });
  });

  it('a script can be a function of the request (here: echo the last user message)', async () => {
    llm.enqueue((req) => ({ reply: `echo: ${req.body.messages.at(-1).content}` }));
    const r = await collectReply(client().streamChat({ model: 'gpt-5.4-nano', messages: [{ role: 'user', content: 'ping 42' }], signal: signal() }));
    expect(r.text).toBe('echo: ping 42');
  });

  it('tool_calls finish maps to tool_use', async () => {
    llm.enqueue({ reply: '', chunks: [], finishReason: 'tool_calls' });
    const r = await collectReply(client().streamChat({ model: 'gpt-5.4-nano', messages: [{ role: 'user', content: 'x' }], signal: signal() }));
    expect(r).toMatchObject({ text: '', finishReason: 'tool_use', raw: 'tool_calls' });
  });
});
