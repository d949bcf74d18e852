import type http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RecordedRequest, StandinScript } from './llm-standins.ts';

/**
 * Wire formats of the stand-in LLM provider (llm-standins.ts): OpenAI chat completions and Anthropic Messages,
 * replies and errors, streamed and not, as the real services write them.
 */
const words = (s: string) => s.split(/\s+/).filter(Boolean).length;

/** Plain text of a message's content, whether a string or an array of content blocks. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((b) => (typeof b?.text === 'string' ? b.text : '')).join(' ');
  return '';
}

function inputWords(body: { messages?: Array<{ content?: unknown }>; system?: unknown }): number {
  const msgs = Array.isArray(body.messages) ? body.messages : [];
  return msgs.reduce((n, m) => n + words(contentText(m.content)), 0) + words(contentText(body.system));
}

export interface Plan {
  pieces: string[];
  usage: { inputTokens: number; outputTokens: number } | null;
  script: StandinScript;
}

export function plan(script: StandinScript, req: RecordedRequest): Plan {
  const reply = script.reply ?? 'Hello from the stand-in model.';
  const pieces = script.chunks ?? reply.match(/^\s+|\S+\s*/g) ?? [];
  const usage = script.usage === false ? null : (script.usage ?? { inputTokens: inputWords(req.body), outputTokens: pieces.length });
  return { pieces, usage, script };
}

// ---- OpenAI wire format -------------------------------------------------------------------------------------

export function openaiError(status: number, message: string, type: string, code: string | null) {
  return { status, body: { error: { message, type, param: null, code } } };
}

export function openaiFailure(f: NonNullable<StandinScript['fail']>) {
  const defaults: Record<number, [string, string, string | null]> = {
    401: ['Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key'],
    429: ['Rate limit reached for requests.', 'requests', 'rate_limit_exceeded'],
    500: ['The server had an error while processing your request. Sorry about that!', 'server_error', null],
  };
  const [message, type, code] = defaults[f.status] ?? ['Bad request.', 'invalid_request_error', null];
  return openaiError(f.status, f.message ?? message, f.type ?? type, code);
}

function openaiChunk(id: string, model: string, delta: object, finish: string | null, withUsage: boolean) {
  return {
    id,
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model,
    system_fingerprint: 'fp_standin',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(withUsage ? { usage: null } : {}),
  };
}

export async function openaiStream(res: http.ServerResponse, req: RecordedRequest, p: Plan): Promise<void> {
  const id = `chatcmpl-${Math.random().toString(36).slice(2, 14)}`;
  const withUsage = req.body.stream_options?.include_usage === true;
  const send = (obj: unknown) => res.write(`data: ${JSON.stringify(obj)}\n\n`);
  send(openaiChunk(id, req.model, { role: 'assistant', content: '', refusal: null }, null, withUsage));
  if (!(await pieces(res, p, (text) => send(openaiChunk(id, req.model, { content: text }, null, withUsage)), (e) => send({ error: { message: e.message, type: e.type, param: null, code: null } })))) return;
  send(openaiChunk(id, req.model, {}, p.script.finishReason ?? 'stop', withUsage));
  if (withUsage && p.usage) {
    const { inputTokens: i, outputTokens: o } = p.usage;
    send({ id, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: req.model, system_fingerprint: 'fp_standin', choices: [], usage: { prompt_tokens: i, completion_tokens: o, total_tokens: i + o } });
  }
  res.end('data: [DONE]\n\n');
}

export function openaiComplete(req: RecordedRequest, p: Plan) {
  const text = p.pieces.join('');
  const u = p.usage;
  return {
    id: `chatcmpl-${Math.random().toString(36).slice(2, 14)}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: req.model,
    choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: p.script.finishReason ?? 'stop' }],
    ...(u ? { usage: { prompt_tokens: u.inputTokens, completion_tokens: u.outputTokens, total_tokens: u.inputTokens + u.outputTokens } } : {}),
  };
}

// ---- Anthropic wire format ----------------------------------------------------------------------------------

export function anthropicError(status: number, type: string, message: string) {
  return { status, body: { type: 'error', error: { type, message } } };
}

export function anthropicFailure(f: NonNullable<StandinScript['fail']>) {
  const defaults: Record<number, [string, string]> = {
    400: ['invalid_request_error', 'Invalid request.'],
    401: ['authentication_error', 'invalid x-api-key'],
    403: ['permission_error', 'Your API key does not have permission to use the specified resource.'],
    404: ['not_found_error', 'The requested resource could not be found.'],
    429: ['rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit.'],
    500: ['api_error', 'Internal server error'],
    529: ['overloaded_error', 'Overloaded'],
  };
  const [type, message] = defaults[f.status] ?? (f.status >= 500 ? ['api_error', 'Internal server error'] : ['invalid_request_error', 'Invalid request.']);
  return anthropicError(f.status, f.type ?? type, f.message ?? message);
}

export async function anthropicStream(res: http.ServerResponse, req: RecordedRequest, p: Plan): Promise<void> {
  const send = (event: string, data: object) => res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
  const u = p.usage ?? { inputTokens: 0, outputTokens: 0 };
  send('message_start', {
    message: {
      id: `msg_${Math.random().toString(36).slice(2, 14)}`,
      type: 'message',
      role: 'assistant',
      content: [],
      model: req.model,
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: u.inputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 },
    },
  });
  send('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
  send('ping', {});
  if (!(await pieces(res, p, (text) => send('content_block_delta', { index: 0, delta: { type: 'text_delta', text } }), (e) => send('error', { error: { type: e.type, message: e.message } })))) return;
  send('content_block_stop', { index: 0 });
  send('message_delta', { delta: { stop_reason: p.script.finishReason ?? 'end_turn', stop_sequence: null }, usage: { output_tokens: u.outputTokens } });
  send('message_stop', {});
  res.end();
}

export function anthropicComplete(req: RecordedRequest, p: Plan) {
  const u = p.usage ?? { inputTokens: 0, outputTokens: 0 };
  return {
    id: `msg_${Math.random().toString(36).slice(2, 14)}`,
    type: 'message',
    role: 'assistant',
    model: req.model,
    content: [{ type: 'text', text: p.pieces.join('') }],
    stop_reason: p.script.finishReason ?? 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: u.inputTokens, output_tokens: u.outputTokens },
  };
}

// ---- shared streaming loop -----------------------------------------------------------------------------------

/** Writes the pieces with the script's pauses and faults; false when the response must not be finished normally. */
async function pieces(res: http.ServerResponse, p: Plan, write: (text: string) => void, writeError: (e: { type: string; message: string }) => void): Promise<boolean> {
  const s = p.script;
  for (let i = 0; i <= p.pieces.length; i++) {
    if (s.hang === 'after-chunks' && i === (s.hangAfterChunks ?? 1)) return false;
    if (s.dropAfterChunks === i) {
      res.socket?.destroy();
      return false;
    }
    if (s.streamError && s.streamError.afterChunks === i) {
      writeError(s.streamError);
      res.end();
      return false;
    }
    if (i === p.pieces.length) break;
    if (s.chunkDelayMs) await sleep(s.chunkDelayMs);
    if (res.destroyed) return false;
    write(p.pieces[i]!);
  }
  return true;
}
