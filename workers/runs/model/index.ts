/** Public surface of the model layer: the run worker imports from here only. */
export type { ChatMessage, ChatRequest, ChatRole, FinishReason, ModelChunk, ModelClient } from './types.ts';
export { ModelError, parseRetryAfter, type ModelErrorKind } from './errors.ts';
export { loadModelConfig, type ModelConfig } from './config.ts';
export { selectModel, type ModelSelection, type ProviderCredentials, type SelectModelInput } from './select.ts';
export { createModelClient, ANTHROPIC_DEFAULT_MAX_TOKENS } from './client.ts';
export { collectReply, type CollectedReply } from './collect.ts';
export { DEMO_MODEL, DEMO_PREFIX, DEMO_PROVIDER } from './demo.ts';
export { PROVIDERS, PROVIDER_NAMES, PROVIDER_ENV_VARS, type ProviderName, type Wire } from './providers.ts';
export { createOpenAIClient, type OpenAIWireOptions } from './openai.ts';
export { createAnthropicClient, type AnthropicWireOptions } from './anthropic.ts';
