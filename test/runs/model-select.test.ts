import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectReply, createModelClient, DEMO_MODEL, loadModelConfig, selectModel, type SelectModelInput } from '../../workers/runs/model/index.ts';
import { startLlmStandin, type LlmStandin } from '../support/llm-standins.ts';

const cfg = (env: Record<string, string> = {}) => loadModelConfig(env);
const pick = (env: Record<string, string>, input: Omit<SelectModelInput, 'config'>) => selectModel({ config: cfg(env), ...input });
const SPACE = { spaceProvider: 'openai', spaceModel: 'gpt-5.4-nano' };

describe('selectModel', () => {
  it('no key anywhere: the demo model, with a note that names the missing key', () => {
    const s = pick({}, SPACE);
    expect(s).toMatchObject({ provider: 'demo', wire: 'demo', model: DEMO_MODEL, fallback: true });
    expect(s.note).toContain('OPENAI_API_KEY');
    expect(s.note).toContain(DEMO_MODEL);
  });

  it("the space's provider and model with the server's key", () => {
    const s = pick({ OPENAI_API_KEY: 'sk-server' }, SPACE);
    expect(s).toMatchObject({ provider: 'openai', wire: 'openai', model: 'gpt-5.4-nano', fallback: false, note: null });
    expect(s.credentials).toMatchObject({ apiKey: 'sk-server', baseURL: 'https://api.openai.com/v1', source: 'server' });
  });

  it('the request overrides the space model, passed through unnormalised (no rewrite to gpt-5.4-nano)', () => {
    expect(pick({ OPENAI_API_KEY: 'k' }, { ...SPACE, requestedModel: 'gpt-5.4' }).model).toBe('gpt-5.4');
    expect(pick({ OPENAI_API_KEY: 'k' }, { ...SPACE, requestedModel: ' my-finetune:v2 ' })).toMatchObject({ provider: 'openai', model: 'my-finetune:v2' });
  });

  it('a requested claude-* model goes to anthropic even in an openai space', () => {
    const s = pick({ OPENAI_API_KEY: 'k', ANTHROPIC_API_KEY: 'a' }, { ...SPACE, requestedModel: 'claude-sonnet-4-6' });
    expect(s).toMatchObject({ provider: 'anthropic', wire: 'anthropic', model: 'claude-sonnet-4-6' });
    expect(s.credentials).toMatchObject({ apiKey: 'a', baseURL: 'https://api.anthropic.com' });
  });

  it('gemini-* goes to google over its OpenAI-compatible endpoint', () => {
    const s = pick({ GOOGLE_API_KEY: 'g' }, { ...SPACE, requestedModel: 'gemini-2.5-pro' });
    expect(s).toMatchObject({ provider: 'google', wire: 'openai', model: 'gemini-2.5-pro' });
    expect(s.credentials).toMatchObject({ apiKey: 'g', baseURL: 'https://generativelanguage.googleapis.com/v1beta/openai' });
  });

  it("the space's common-env key wins over the server's", () => {
    const s = pick({ ANTHROPIC_API_KEY: 'server' }, { spaceProvider: 'anthropic', spaceModel: 'claude-sonnet-4-6', commonEnv: { ANTHROPIC_API_KEY: 'space' } });
    expect(s.credentials).toMatchObject({ apiKey: 'space', source: 'space' });
    expect(pick({}, { spaceProvider: 'anthropic', spaceModel: 'claude-sonnet-4-6', commonEnv: { ANTHROPIC_API_KEY: 'space' } }).provider).toBe('anthropic');
  });

  it('a requested model whose provider has no key: demo, even when a server default provider exists', () => {
    const s = pick({ TAKOS_DEFAULT_PROVIDER: 'openai', OPENAI_API_KEY: 'k' }, { ...SPACE, requestedModel: 'claude-opus-4' });
    expect(s).toMatchObject({ provider: 'demo', fallback: true });
    expect(s.note).toContain('ANTHROPIC_API_KEY');
  });

  it("space settings without a key fall to the server's default provider, with a note", () => {
    const s = pick({ TAKOS_DEFAULT_PROVIDER: 'anthropic', ANTHROPIC_API_KEY: 'a' }, SPACE);
    expect(s).toMatchObject({ provider: 'anthropic', model: 'claude-sonnet-4-6', fallback: true });
    expect(s.note).toMatch(/openai.*OPENAI_API_KEY.*anthropic/);
    expect(pick({ TAKOS_DEFAULT_PROVIDER: 'anthropic', TAKOS_DEFAULT_MODEL: 'claude-haiku-4', ANTHROPIC_API_KEY: 'a' }, SPACE).model).toBe('claude-haiku-4');
  });

  it('a space without settings uses TAKOS_DEFAULT_PROVIDER and TAKOS_DEFAULT_MODEL', () => {
    const s = pick({ TAKOS_DEFAULT_PROVIDER: 'ollama', TAKOS_DEFAULT_MODEL: 'llama3:8b', OLLAMA_BASE_URL: 'http://127.0.0.1:11434/v1' }, {});
    expect(s).toMatchObject({ provider: 'ollama', wire: 'openai', model: 'llama3:8b', fallback: false });
    expect(s.credentials).toMatchObject({ apiKey: null, baseURL: 'http://127.0.0.1:11434/v1' });
  });

  it('keyless local servers are usable once their base URL is set, and keep any model name', () => {
    const none = pick({}, { spaceProvider: 'openai-compatible', spaceModel: 'meta-llama/Llama-3-8B' });
    expect(none.provider).toBe('demo');
    expect(none.note).toContain('OPENAI_COMPATIBLE_BASE_URL is not configured');
    const env = { OPENAI_COMPATIBLE_BASE_URL: 'http://vllm.internal:8000/v1' };
    expect(pick(env, { spaceProvider: 'openai-compatible', spaceModel: 'meta-llama/Llama-3-8B' })).toMatchObject({ provider: 'openai-compatible', model: 'meta-llama/Llama-3-8B' });
    expect(pick(env, { spaceProvider: 'openai-compatible', spaceModel: 'x', requestedModel: 'claude-proxy' }).provider).toBe('openai-compatible');
  });

  it('a base URL in common-env is ignored unless the server allows it, and then needs the space key', () => {
    const commonEnv = { OPENAI_BASE_URL: 'http://10.0.0.5/v1', OPENAI_API_KEY: 'space-key' };
    const ignored = pick({ OPENAI_API_KEY: 'server-key' }, { ...SPACE, commonEnv });
    expect(ignored.credentials).toMatchObject({ baseURL: 'https://api.openai.com/v1', apiKey: 'space-key' });
    expect(ignored.note).toContain('TAKOS_ALLOW_SPACE_BASE_URL');
    const allowed = pick({ OPENAI_API_KEY: 'server-key', TAKOS_ALLOW_SPACE_BASE_URL: '1' }, { ...SPACE, commonEnv });
    expect(allowed.credentials).toMatchObject({ baseURL: 'http://10.0.0.5/v1', apiKey: 'space-key', source: 'space' });
    // Never the server's key to an address the space chose.
    const noSpaceKey = pick({ OPENAI_API_KEY: 'server-key', TAKOS_ALLOW_SPACE_BASE_URL: '1' }, { ...SPACE, commonEnv: { OPENAI_BASE_URL: 'http://10.0.0.5/v1' } });
    expect(noSpaceKey.provider).toBe('demo');
    expect(noSpaceKey.note).toContain("needs the space's own OPENAI_API_KEY");
  });

  it('unknown space provider is ignored with a note; a demo space gets the demo model whatever its model says', () => {
    const s = pick({ OPENAI_API_KEY: 'k' }, { spaceProvider: 'mystery', spaceModel: 'gpt-5.4-nano' });
    expect(s).toMatchObject({ provider: 'openai', model: 'gpt-5.4-nano' });
    expect(s.note).toContain('"mystery"');
    const d = pick({ OPENAI_API_KEY: 'k' }, { spaceProvider: 'demo', spaceModel: 'gpt-5.4-nano' });
    expect(d).toMatchObject({ provider: 'demo', model: DEMO_MODEL, fallback: false });
    expect(pick({}, { ...SPACE, requestedModel: DEMO_MODEL })).toMatchObject({ provider: 'demo', fallback: false, note: null });
  });

  it('logging a selection does not leak the key', () => {
    const s = pick({ OPENAI_API_KEY: 'sk-very-secret' }, SPACE);
    expect(JSON.stringify(s)).not.toContain('sk-very-secret');
    expect(JSON.parse(JSON.stringify(s)).credentials).toEqual({ apiKey: '***', baseURL: 'https://api.openai.com/v1', source: 'server' });
  });
});

describe('loadModelConfig', () => {
  it('defaults: 2 min per call, demo delay, no provider vars; empty values count as unset', () => {
    expect(loadModelConfig({ OPENAI_API_KEY: '', TAKOS_DEFAULT_PROVIDER: '' })).toEqual({
      defaultProvider: null,
      defaultModel: null,
      timeoutMs: 120_000,
      demoDelayMs: 40,
      allowSpaceBaseURL: false,
      providerEnv: {},
    });
  });

  it('refuses bad values at start-up', () => {
    expect(() => loadModelConfig({ OPENAI_BASE_URL: 'not a url' })).toThrow(/OPENAI_BASE_URL/);
    expect(() => loadModelConfig({ TAKOS_DEFAULT_PROVIDER: 'mistral' })).toThrow(/TAKOS_DEFAULT_PROVIDER/);
    expect(() => loadModelConfig({ TAKOS_DEFAULT_PROVIDER: 'ollama' })).toThrow(/TAKOS_DEFAULT_MODEL/);
    expect(() => loadModelConfig({ TAKOS_LLM_TIMEOUT_MS: '0' })).toThrow(/TAKOS_LLM_TIMEOUT_MS/);
  });
});

describe('selection to client, end to end over HTTP', () => {
  let llm: LlmStandin;
  beforeAll(async () => {
    llm = await startLlmStandin({ apiKey: 'space-key' });
  });
  afterAll(() => llm.close());

  it('the chosen key, base URL and model reach the provider', async () => {
    const config = loadModelConfig({ OPENAI_BASE_URL: llm.openaiBaseURL, OPENAI_API_KEY: 'server-key' });
    const sel = selectModel({ config, ...SPACE, requestedModel: 'gpt-5.4-mini', commonEnv: { OPENAI_API_KEY: 'space-key' } });
    llm.setScript({ reply: 'from the stand-in' });
    const n = llm.requests.length;
    const r = await collectReply(createModelClient(sel, config).streamChat({ model: sel.model, messages: [{ role: 'user', content: 'hi' }], signal: new AbortController().signal }));
    expect(r.text).toBe('from the stand-in');
    expect(llm.requests[n]).toMatchObject({ protocol: 'openai', model: 'gpt-5.4-mini', headers: { authorization: 'Bearer space-key' } });
  });

  it('anthropic through ANTHROPIC_BASE_URL', async () => {
    const config = loadModelConfig({ ANTHROPIC_BASE_URL: llm.anthropicBaseURL, ANTHROPIC_API_KEY: 'space-key' });
    const sel = selectModel({ config, spaceProvider: 'anthropic', spaceModel: 'claude-sonnet-4-6' });
    const n = llm.requests.length;
    const r = await collectReply(createModelClient(sel, config).streamChat({ model: sel.model, messages: [{ role: 'user', content: 'hi' }], signal: new AbortController().signal }));
    expect(r.text).toBe('from the stand-in');
    expect(llm.requests[n]).toMatchObject({ protocol: 'anthropic', model: 'claude-sonnet-4-6' });
  });
});
