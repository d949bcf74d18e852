import type { FinishReason, ModelChunk } from './types.ts';

export interface CollectedReply {
  text: string;
  usage: { inputTokens: number; outputTokens: number } | null;
  finishReason: FinishReason;
  raw: string | null;
}

/**
 * Drains a model stream into the full reply, calling `onDelta` for each piece (the run worker emits those as run
 * events). Errors propagate as the stream threw them (ModelError).
 */
export async function collectReply(stream: AsyncIterable<ModelChunk>, onDelta?: (text: string) => void | Promise<void>): Promise<CollectedReply> {
  let text = '';
  let usage: CollectedReply['usage'] = null;
  for await (const chunk of stream) {
    if (chunk.type === 'delta') {
      text += chunk.text;
      if (onDelta) await onDelta(chunk.text);
    } else if (chunk.type === 'usage') {
      usage = { inputTokens: chunk.inputTokens, outputTokens: chunk.outputTokens };
    } else {
      return { text, usage, finishReason: chunk.finishReason, raw: chunk.raw };
    }
  }
  // Unreachable with our clients (they always end with `done` or throw); kept so a foreign stream cannot pass as complete.
  throw new Error('model stream ended without a done chunk');
}
