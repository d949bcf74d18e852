import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectReply, createAnthropicClient, ModelError } from '../../workers/runs/model/index.ts';
import { startLlmStandin, type LlmStandin } from '../support/llm-standins.ts';

/** What the Anthropic client puts on the wire, as the stand-in received it. */
describe('Anthropic client on the wire', () => {
  let llm: LlmStandin;
  beforeAll(async () => {
    llm = await startLlmStandin({ apiKey: 'sk-ant-test', models: ['claude-sonnet-4-6'] });
  });
  afterAll(() => llm.close());

  const client = (apiKey = 'sk-ant-test') =>
    createAnthropicClient({ provider: 'anthropic', apiKey, baseURL: llm.anthropicBaseURL, defaultTimeoutMs: 10_000, defaultMaxTokens: 4096 });
  const signal = () => new AbortController().signal;

  it('moves system messages to the top-level system field, sends the default max_tokens, a version and the key', async () => {
    const n = llm.requests.length;
    const r = await collectReply(
      client().streamChat({
        model: 'claude-sonnet-4-6',
        messages: [
          { role: 'system', content: 'Rule one.' },
          { role: 'system', content: 'Rule two.' },
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello.' },
          { role: 'user', content: 'Again please' },
        ],
        signal: signal(),
      }),
    );
    const req = llm.requests[n]!;
    expect(req.path).toBe('/v1/messages');
    expect(req.body).toEqual({
      model: 'claude-sonnet-4-6',
      max_tokens: 4096,
      system: 'Rule one.\n\nRule two.',
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello.' },
        { role: 'user', content: 'Again please' },
      ],
      stream: true,
    });
    expect(req.headers['anthropic-version']).toBeTruthy();
    expect(req.headers['x-api-key'] ?? req.headers.authorization).toMatch(/sk-ant-test$/);
    // Usage from message_start (input) and message_delta (output): stand-in counts words and pieces.
    expect(r.usage).toEqual({ inputTokens: 2 + 1 + 1 + 2 + 2, outputTokens: 5 });
    expect(r).toMatchObject({ text: 'Hello from the stand-in model.', finishReason: 'stop', raw: 'end_turn' });
  });

  it('passes maxTokens and temperature when given', async () => {
    const n = llm.requests.length;
    await collectReply(client().streamChat({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'x' }], maxTokens: 64, temperature: 0, signal: signal() }));
    expect(llm.requests[n]!.body).toMatchObject({ max_tokens: 64, temperature: 0 });
    expect(llm.requests[n]!.body).not.toHaveProperty('system');
  });

  it('an unknown model becomes bad_request with the provider message', async () => {
    const err = await collectReply(client().streamChat({ model: 'claude-imaginary', messages: [{ role: 'user', content: 'x' }], signal: signal() })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect(err).toMatchObject({ kind: 'bad_request', status: 404 });
    expect((err as ModelError).message).toContain('model: claude-imaginary');
  });

  it('529 overloaded is upstream; 403 is auth', async () => {
    llm.enqueue({ fail: { status: 529 } }, { fail: { status: 403 } });
    const call = () => collectReply(client().streamChat({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'x' }], signal: signal() })).catch((e: unknown) => e);
    expect(await call()).toMatchObject({ kind: 'upstream', status: 529, retryable: true });
    expect(await call()).toMatchObject({ kind: 'auth', status: 403, retryable: false });
  });

  it('max_tokens and refusal stops map to length and content_filter', async () => {
    llm.enqueue({ reply: 'abc', finishReason: 'max_tokens' }, { reply: 'no', finishReason: 'refusal' });
    const call = () => collectReply(client().streamChat({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'x' }], signal: signal() }));
    expect(await call()).toMatchObject({ finishReason: 'length', raw: 'max_tokens' });
    expect(await call()).toMatchObject({ finishReason: 'content_filter', raw: 'refusal' });
  });
});
