import { createAnthropicClient } from './anthropic.ts';
import type { ModelConfig } from './config.ts';
import { createDemoClient } from './demo.ts';
import { createOpenAIClient } from './openai.ts';
import { PROVIDERS } from './providers.ts';
import type { ModelSelection } from './select.ts';
import type { ModelClient } from './types.ts';

/** The Messages API requires max_tokens; this is used when a request gives none (other wires leave it unset). */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 4096;

/** Builds the client for a selection. Cheap (no connection is opened until a call): one per run is fine. */
export function createModelClient(selection: ModelSelection, config: Pick<ModelConfig, 'timeoutMs' | 'demoDelayMs'>): ModelClient {
  const { credentials } = selection;
  switch (selection.wire) {
    case 'demo':
      return createDemoClient({ delayMs: config.demoDelayMs, defaultTimeoutMs: config.timeoutMs });
    case 'anthropic':
      return createAnthropicClient({
        provider: selection.provider,
        apiKey: credentials.apiKey ?? '',
        baseURL: credentials.baseURL!,
        defaultTimeoutMs: config.timeoutMs,
        defaultMaxTokens: ANTHROPIC_DEFAULT_MAX_TOKENS,
      });
    case 'openai':
      return createOpenAIClient({
        provider: selection.provider,
        apiKey: credentials.apiKey,
        baseURL: credentials.baseURL!,
        maxTokensField: PROVIDERS[selection.provider].maxTokensField,
        defaultTimeoutMs: config.timeoutMs,
      });
  }
}
