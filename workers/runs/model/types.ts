/**
 * The provider-neutral model interface the run worker talks to. One call = one chat completion, streamed.
 *
 * Stream contract (every ModelClient, real or demo):
 *  - zero or more `delta` chunks, in order; their `text` concatenated is the assistant reply;
 *  - at most one `usage` chunk, after the last delta, only when the provider reported token counts (an
 *    OpenAI-compatible server that ignores `stream_options.include_usage` reports none);
 *  - exactly one `done` chunk, last. A stream that ends without the provider's end marker is an error
 *    (`upstream`), never a silent `done`, so a truncated reply is never mistaken for a complete one.
 *  - any failure is thrown from the iterator as a `ModelError` (errors.ts), including cancellation and timeout.
 *  - breaking out of the loop (or `return()` on the iterator) closes the HTTP stream at once.
 */

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  /** Cancels the call: the HTTP stream is closed and the iterator throws ModelError('cancelled'). */
  signal: AbortSignal;
  /**
   * Budget for the whole call, from the request until the last chunk (spec 3.2: 2 min per LLM iteration). The SDKs'
   * own `timeout` only covers the wait for response headers, so a stream that stalls half-way would hang forever
   * without this. Defaults to the config's TAKOS_LLM_TIMEOUT_MS when the client was built from a selection.
   */
  timeoutMs?: number;
}

/** Normalised across providers; `raw` in the done chunk keeps the provider's own word. */
export type FinishReason = 'stop' | 'length' | 'content_filter' | 'tool_use' | 'other';

export type ModelChunk =
  | { type: 'delta'; text: string }
  | { type: 'usage'; inputTokens: number; outputTokens: number }
  | { type: 'done'; finishReason: FinishReason; raw: string | null };

export interface ModelClient {
  /** Which provider entry serves this client ('openai', 'anthropic', 'ollama', 'demo', ...). */
  readonly provider: string;
  streamChat(req: ChatRequest): AsyncIterable<ModelChunk>;
}
