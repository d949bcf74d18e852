import Anthropic from '@anthropic-ai/sdk';
import { openCallScope } from './call-scope.ts';
import { toModelError, truncatedError } from './errors.ts';
import type { ChatRequest, FinishReason, ModelChunk, ModelClient } from './types.ts';

/** Anthropic Messages, streamed, through the official `@anthropic-ai/sdk`. */
export interface AnthropicWireOptions {
  provider: string;
  apiKey: string;
  /** Without the `/v1` segment, e.g. https://api.anthropic.com (the SDK appends `/v1/messages`). */
  baseURL: string;
  defaultTimeoutMs: number;
  /** The Messages API requires max_tokens; used when the request gives none. */
  defaultMaxTokens: number;
}

const FINISH: Record<string, FinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  refusal: 'content_filter',
  tool_use: 'tool_use',
};

export function createAnthropicClient(opts: AnthropicWireOptions): ModelClient {
  const sdk = new Anthropic({
    // Passing the key (and base URL) explicitly keeps the SDK from reading ANTHROPIC_* variables of this process,
    // which must not leak into calls made with a space's own key.
    apiKey: opts.apiKey,
    baseURL: opts.baseURL,
    maxRetries: 0,
    logLevel: 'off',
  });
  const { provider } = opts;

  async function* streamChat(req: ChatRequest): AsyncGenerator<ModelChunk> {
    const timeoutMs = req.timeoutMs ?? opts.defaultTimeoutMs;
    const scope = openCallScope(provider, req.signal, timeoutMs);
    // Messages takes the system prompt as a top-level field, not as a turn.
    const system = req.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
    const turns = req.messages.filter((m) => m.role !== 'system').map((m) => ({ role: m.role as 'user' | 'assistant', content: m.content }));
    try {
      const stream = await sdk.messages.create(
        {
          model: req.model,
          max_tokens: req.maxTokens ?? opts.defaultMaxTokens,
          messages: turns,
          ...(system ? { system } : {}),
          ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
          stream: true,
        },
        { signal: scope.signal, maxRetries: 0, timeout: timeoutMs },
      );
      let inputTokens = 0;
      let outputTokens = 0;
      let sawUsage = false;
      let stop: string | null = null;
      let stopped = false;
      for await (const ev of stream) {
        switch (ev.type) {
          case 'message_start': {
            const u = ev.message.usage;
            // Cached prompt tokens are input the model read too; counting them keeps usage comparable across calls.
            inputTokens = u.input_tokens + (u.cache_creation_input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0);
            outputTokens = u.output_tokens;
            sawUsage = true;
            break;
          }
          case 'content_block_delta':
            if (ev.delta.type === 'text_delta' && ev.delta.text) yield { type: 'delta', text: ev.delta.text };
            break;
          case 'message_delta':
            stop = ev.delta.stop_reason ?? stop;
            // message_delta usage is cumulative, and carries input_tokens too on newer API versions.
            outputTokens = ev.usage.output_tokens;
            if (ev.usage.input_tokens != null) {
              inputTokens = ev.usage.input_tokens + (ev.usage.cache_creation_input_tokens ?? 0) + (ev.usage.cache_read_input_tokens ?? 0);
            }
            sawUsage = true;
            break;
          case 'message_stop':
            stopped = true;
            break;
          default:
            break;
        }
      }
      if (scope.abortedBy()) throw new Error('aborted');
      if (!stopped) throw truncatedError(provider);
      if (sawUsage) yield { type: 'usage', inputTokens, outputTokens };
      yield { type: 'done', finishReason: (stop && FINISH[stop]) || 'other', raw: stop };
    } catch (err) {
      throw toModelError(provider, err, scope.abortedBy(), timeoutMs);
    } finally {
      scope.close();
    }
  }

  return { provider, streamChat };
}
