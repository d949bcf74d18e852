import { DEMO_MODEL } from './demo.ts';

/**
 * The providers a space can name in `ai_provider` (same list as the spaces API, http/api/spaces/schemas.ts), and
 * how each is reached. Three wire formats cover them all: OpenAI chat completions (OpenAI itself, Gemini's
 * OpenAI endpoint, any OpenAI-compatible server such as vLLM or llama.cpp, Ollama's /v1), Anthropic Messages, and
 * the built-in demo.
 *
 * A provider is usable when its credential is configured: the API key for hosted providers, the base URL for
 * keyless local servers (an Ollama that nobody configured is more likely absent than listening on its default port,
 * and a demo reply explains itself better than "connection refused").
 */
export const PROVIDER_NAMES = ['openai', 'anthropic', 'google', 'openai-compatible', 'ollama', 'demo'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];
export type Wire = 'openai' | 'anthropic' | 'demo';

export interface ProviderSpec {
  name: ProviderName;
  wire: Wire;
  /** Env / common-env variable holding the API key. */
  keyVar: string | null;
  /** Env / common-env variable overriding the base URL. */
  baseUrlVar: string | null;
  /** Used when the base URL variable is unset; null means the variable is the provider's credential. */
  defaultBaseURL: string | null;
  /** Model used when neither the request, the space nor TAKOS_DEFAULT_MODEL names one. */
  defaultModel: string | null;
  maxTokensField: 'max_completion_tokens' | 'max_tokens';
}

export const PROVIDERS: Record<ProviderName, ProviderSpec> = {
  openai: {
    name: 'openai',
    wire: 'openai',
    keyVar: 'OPENAI_API_KEY',
    baseUrlVar: 'OPENAI_BASE_URL',
    defaultBaseURL: 'https://api.openai.com/v1',
    defaultModel: 'gpt-5.4-nano',
    maxTokensField: 'max_completion_tokens',
  },
  anthropic: {
    name: 'anthropic',
    wire: 'anthropic',
    keyVar: 'ANTHROPIC_API_KEY',
    baseUrlVar: 'ANTHROPIC_BASE_URL',
    defaultBaseURL: 'https://api.anthropic.com',
    defaultModel: 'claude-sonnet-4-6',
    maxTokensField: 'max_tokens',
  },
  google: {
    name: 'google',
    wire: 'openai',
    keyVar: 'GOOGLE_API_KEY',
    baseUrlVar: 'GOOGLE_BASE_URL',
    defaultBaseURL: 'https://generativelanguage.googleapis.com/v1beta/openai',
    defaultModel: 'gemini-2.5-flash',
    maxTokensField: 'max_tokens',
  },
  'openai-compatible': {
    name: 'openai-compatible',
    wire: 'openai',
    keyVar: 'OPENAI_COMPATIBLE_API_KEY',
    baseUrlVar: 'OPENAI_COMPATIBLE_BASE_URL',
    defaultBaseURL: null,
    defaultModel: null,
    maxTokensField: 'max_tokens',
  },
  ollama: {
    name: 'ollama',
    wire: 'openai',
    keyVar: null,
    baseUrlVar: 'OLLAMA_BASE_URL',
    defaultBaseURL: null,
    defaultModel: null,
    maxTokensField: 'max_tokens',
  },
  demo: {
    name: 'demo',
    wire: 'demo',
    keyVar: null,
    baseUrlVar: null,
    defaultBaseURL: null,
    defaultModel: DEMO_MODEL,
    maxTokensField: 'max_tokens',
  },
};

export const isProviderName = (s: unknown): s is ProviderName => typeof s === 'string' && (PROVIDER_NAMES as readonly string[]).includes(s);

/** Every variable a provider reads, for config loading and common-env lookups. */
export const PROVIDER_ENV_VARS: readonly string[] = Object.values(PROVIDERS).flatMap((p) => [p.keyVar, p.baseUrlVar].filter((v): v is string => v !== null));

/**
 * Which provider a model name belongs to, when the name says so unambiguously. Routers (openai-compatible, ollama)
 * serve whatever names their operator loaded, so a space pointed at one keeps it whatever the name looks like.
 */
export function providerForModel(model: string, base: ProviderName): ProviderName {
  const m = model.toLowerCase();
  if (m.startsWith('takos-demo')) return 'demo';
  if (base === 'openai-compatible' || base === 'ollama') return base;
  if (m.startsWith('claude-')) return 'anthropic';
  if (/^(gpt-|chatgpt-|o\d)/.test(m)) return 'openai';
  if (m.startsWith('gemini-') || m.startsWith('models/gemini-')) return 'google';
  return base;
}
