import OpenAI from 'openai';
import { openCallScope } from './call-scope.ts';
import { toModelError, truncatedError } from './errors.ts';
import type { ChatRequest, FinishReason, ModelChunk, ModelClient } from './types.ts';

/**
 * OpenAI chat completions, streamed, through the official `openai` SDK. The same wire format is spoken by vLLM,
 * Ollama (`/v1`), llama.cpp's server, LiteLLM and Gemini's OpenAI endpoint, so every provider entry of that family
 * (providers.ts) goes through here with its own base URL.
 */
export interface OpenAIWireOptions {
  /** Provider label used in errors and chunks ('openai', 'ollama', ...). */
  provider: string;
  /** Null for keyless local servers (Ollama, llama.cpp). */
  apiKey: string | null;
  /** Up to and including the version segment, e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1. */
  baseURL: string;
  /**
   * OpenAI's own API refuses `max_tokens` for its reasoning models and wants `max_completion_tokens`; servers that
   * only imitate the API (older vLLM, Ollama, llama.cpp) know only `max_tokens`.
   */
  maxTokensField: 'max_completion_tokens' | 'max_tokens';
  defaultTimeoutMs: number;
}

const FINISH: Record<string, FinishReason> = {
  stop: 'stop',
  length: 'length',
  content_filter: 'content_filter',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
};

export function createOpenAIClient(opts: OpenAIWireOptions): ModelClient {
  const sdk = new OpenAI({
    // The SDK refuses to start without a key; a keyless local server ignores the placeholder bearer token.
    apiKey: opts.apiKey ?? 'no-key',
    baseURL: opts.baseURL,
    // Explicit nulls: otherwise the SDK reads OPENAI_ORG_ID / OPENAI_PROJECT_ID from the process environment,
    // which must not leak into calls made with a space's own key.
    organization: null,
    project: null,
    maxRetries: 0,
    logLevel: 'off',
  });
  const { provider } = opts;

  async function* streamChat(req: ChatRequest): AsyncGenerator<ModelChunk> {
    const timeoutMs = req.timeoutMs ?? opts.defaultTimeoutMs;
    const scope = openCallScope(provider, req.signal, timeoutMs);
    try {
      const stream = await sdk.chat.completions.create(
        {
          model: req.model,
          messages: req.messages.map((m) => ({ role: m.role, content: m.content })),
          stream: true,
          stream_options: { include_usage: true },
          ...(req.maxTokens !== undefined ? { [opts.maxTokensField]: req.maxTokens } : {}),
          ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
        },
        { signal: scope.signal, maxRetries: 0, timeout: timeoutMs },
      );
      let finish: string | null = null;
      let usage: { prompt_tokens: number; completion_tokens: number } | null = null;
      for await (const chunk of stream) {
        if (chunk.usage) usage = chunk.usage;
        // The usage chunk has no choices; n=1 everywhere else, so only choice 0 carries text.
        const choice = chunk.choices[0];
        if (!choice) continue;
        const text = choice.delta?.content;
        if (text) yield { type: 'delta', text };
        if (choice.finish_reason) finish = choice.finish_reason;
      }
      // The SDK ends its iterator quietly when the signal aborts it mid-stream: the cause is in the scope.
      if (scope.abortedBy()) throw new Error('aborted');
      if (finish === null) throw truncatedError(provider);
      if (usage) yield { type: 'usage', inputTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens };
      yield { type: 'done', finishReason: FINISH[finish] ?? 'other', raw: finish };
    } catch (err) {
      throw toModelError(provider, err, scope.abortedBy(), timeoutMs);
    } finally {
      scope.close();
    }
  }

  return { provider, streamChat };
}
