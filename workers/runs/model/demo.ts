import { setTimeout as sleep } from 'node:timers/promises';
import { openCallScope } from './call-scope.ts';
import { ModelError, toModelError } from './errors.ts';
import type { ChatRequest, ModelChunk, ModelClient } from './types.ts';

/**
 * The built-in demo model, used when no provider key is configured so that a fresh install still shows a run
 * streaming end to end. It is not a language model: it echoes the last user message back word by word, prefixed
 * with DEMO_PREFIX so nobody mistakes it for one. It honours the same contract as the real clients (cancellation,
 * deadline, maxTokens -> finish 'length', one usage chunk, unknown model -> bad_request), so the run worker's paths
 * are exercised the same way with or without a key.
 */
export const DEMO_PROVIDER = 'demo';
export const DEMO_MODEL = 'takos-demo-echo';
export const DEMO_PREFIX = '[demo model] ';

export interface DemoOptions {
  /** Pause before each piece, to look like a model streaming; 0 in tests. */
  delayMs: number;
  defaultTimeoutMs: number;
}

/** Usage counts are words (whitespace-separated), the closest honest stand-in for tokens here. */
const countWords = (s: string) => s.split(/\s+/).filter(Boolean).length;

export function createDemoClient(opts: DemoOptions): ModelClient {
  async function* streamChat(req: ChatRequest): AsyncGenerator<ModelChunk> {
    const timeoutMs = req.timeoutMs ?? opts.defaultTimeoutMs;
    if (req.model !== DEMO_MODEL) {
      throw new ModelError('bad_request', DEMO_PROVIDER, `demo provider serves only the model "${DEMO_MODEL}", not "${req.model}"`, { status: 404 });
    }
    const scope = openCallScope(DEMO_PROVIDER, req.signal, timeoutMs);
    try {
      const lastUser = req.messages.findLast((m) => m.role === 'user')?.content.trim() ?? '';
      const words = (lastUser || '(no user message to echo)').match(/\S+\s*/g) ?? [];
      const pieces = [DEMO_PREFIX, ...words];
      const limit = req.maxTokens ?? Infinity;
      let sent = 0;
      for (const piece of pieces) {
        if (sent >= limit) break;
        if (opts.delayMs > 0) await sleep(opts.delayMs, undefined, { signal: scope.signal });
        if (scope.signal.aborted) throw new Error('aborted');
        yield { type: 'delta', text: piece };
        sent++;
      }
      const inputTokens = req.messages.reduce((n, m) => n + countWords(m.content), 0);
      yield { type: 'usage', inputTokens, outputTokens: sent };
      const truncated = sent < pieces.length;
      yield { type: 'done', finishReason: truncated ? 'length' : 'stop', raw: truncated ? 'length' : 'stop' };
    } catch (err) {
      throw toModelError(DEMO_PROVIDER, err, scope.abortedBy(), timeoutMs);
    } finally {
      scope.close();
    }
  }
  return { provider: DEMO_PROVIDER, streamChat };
}
