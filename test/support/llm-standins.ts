import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  anthropicComplete,
  anthropicError,
  anthropicFailure,
  anthropicStream,
  openaiComplete,
  openaiError,
  openaiFailure,
  openaiStream,
  plan,
} from './llm-standins-wire.ts';

/**
 * Stand-in LLM provider for tests and benchmarks: one node:http server on 127.0.0.1 speaking both wire protocols
 * the model layer uses, byte-compatible with the real services as far as the official SDKs can tell:
 *
 *   POST /v1/chat/completions   OpenAI chat completions; `stream: true` -> SSE `data: {chunk}` lines, a usage chunk
 *                               (`choices: []`) when `stream_options.include_usage` is set, then `data: [DONE]`.
 *   POST /v1/messages           Anthropic Messages (key in x-api-key or Authorization: Bearer); `stream: true` -> message_start, content_block_start, ping,
 *                               content_block_delta..., content_block_stop, message_delta, message_stop.
 *
 * Both also answer non-streaming requests. Errors use each provider's body shape and headers.
 *
 * Usage:
 *   const llm = await startLlmStandin({ apiKey: 'sk-test' });
 *   llm.setScript({ reply: 'Hello there', chunkDelayMs: 5 });        // every following request
 *   llm.enqueue({ fail: { status: 500 } });                          // one-shot, used before the default
 *   new OpenAI({ baseURL: llm.openaiBaseURL, apiKey: 'sk-test' });   // or anthropicBaseURL
 *   const req = await llm.waitForRequest(0);                         // what the client sent
 *   await req.closed;                                                // { completed: false } if the client hung up
 *   await llm.close();
 *
 * A script may be a function of the received request, e.g. to echo its input.
 */
export interface StandinScript {
  /** Reply text, streamed in word-sized pieces. Default "Hello from the stand-in model." */
  reply?: string;
  /** Explicit pieces instead of splitting `reply`. */
  chunks?: string[];
  /** Pause before each piece. Default 0. */
  chunkDelayMs?: number;
  /** Token counts to report; default: input = words in the request's messages, output = number of pieces. `false`: report none. */
  usage?: { inputTokens: number; outputTokens: number } | false;
  /** The provider's own finish word. Default "stop" (OpenAI) / "end_turn" (Anthropic). */
  finishReason?: string;
  /** Answer with this status and a provider-shaped error body instead of a reply. */
  fail?: { status: number; message?: string; type?: string; retryAfter?: string; retryAfterMs?: number };
  /** 'before-headers': never answer. 'after-chunks': send headers and `hangAfterChunks` pieces, then nothing. */
  hang?: 'before-headers' | 'after-chunks';
  hangAfterChunks?: number;
  /** Destroy the socket after this many pieces (a connection cut mid-reply). */
  dropAfterChunks?: number;
  /** Send an in-stream error event after this many pieces, then end the response. */
  streamError?: { afterChunks: number; type: string; message: string };
}

export interface StandinOptions {
  /** When set, any other key answers 401 (OpenAI: Authorization Bearer; Anthropic: x-api-key or Bearer). */
  apiKey?: string;
  /** When set, any other model name answers 404 the way each provider does. */
  models?: string[];
  script?: StandinScript | ScriptFn;
}

export type ScriptFn = (req: RecordedRequest) => StandinScript;

export interface RecordedRequest {
  protocol: 'openai' | 'anthropic';
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  // The request body as the client sent it (JSON); tests assert on its fields.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  model: string;
  stream: boolean;
  /** Resolves when this request's response closed; `completed` is false when the client hung up first. */
  closed: Promise<{ completed: boolean }>;
}

export interface LlmStandin {
  url: string;
  /** For the OpenAI SDK (`baseURL` includes /v1). */
  openaiBaseURL: string;
  /** For the Anthropic SDK (it appends /v1/messages itself). */
  anthropicBaseURL: string;
  requests: RecordedRequest[];
  setScript(script: StandinScript | ScriptFn): void;
  enqueue(...scripts: Array<StandinScript | ScriptFn>): void;
  /** Resolves with the index-th request (0-based) once it has arrived. */
  waitForRequest(index: number): Promise<RecordedRequest>;
  close(): Promise<void>;
}

// ---- server ------------------------------------------------------------------------------------------------

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export async function startLlmStandin(opts: StandinOptions = {}): Promise<LlmStandin> {
  let defaultScript: StandinScript | ScriptFn = opts.script ?? {};
  const queue: Array<StandinScript | ScriptFn> = [];
  const requests: RecordedRequest[] = [];
  const waiters = new Map<number, Array<(r: RecordedRequest) => void>>();
  const sockets = new Set<Socket>();

  async function handle(httpReq: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of httpReq) chunks.push(c as Buffer);
    const path = (httpReq.url ?? '/').split('?')[0]!;
    const protocol = path === '/v1/chat/completions' ? 'openai' : path === '/v1/messages' ? 'anthropic' : null;
    if (!protocol || httpReq.method !== 'POST') return sendJson(res, 404, { error: { message: `No route ${httpReq.method} ${path}`, type: 'invalid_request_error' } });
    let body: RecordedRequest['body'];
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      body = null;
    }
    const closed = new Promise<{ completed: boolean }>((resolve) => res.once('close', () => resolve({ completed: res.writableFinished })));
    const rec: RecordedRequest = { protocol, method: httpReq.method, path, headers: httpReq.headers, body, model: String(body?.model ?? ''), stream: body?.stream === true, closed };
    requests.push(rec);
    for (const w of waiters.get(requests.length - 1) ?? []) w(rec);
    waiters.delete(requests.length - 1);

    const oa = protocol === 'openai';
    const reject = (e: { status: number; body: unknown }, headers: Record<string, string> = {}) =>
      sendJson(res, e.status, e.body, { [oa ? 'x-request-id' : 'request-id']: `req_standin_${requests.length}`, ...headers });
    if (!body || typeof body !== 'object') return reject(oa ? openaiError(400, 'We could not parse the JSON body of your request.', 'invalid_request_error', null) : anthropicError(400, 'invalid_request_error', 'Invalid JSON body'));
    if (!oa && !httpReq.headers['anthropic-version']) return reject(anthropicError(400, 'invalid_request_error', 'anthropic-version: header is required'));
    // Anthropic's API takes x-api-key; its SDK from 1.x sends the key as a bearer token instead. Both are accepted.
    const bearer = /^Bearer (.*)$/.exec(String(httpReq.headers.authorization ?? ''))?.[1];
    const key = oa ? bearer : (httpReq.headers['x-api-key'] ?? bearer);
    if (opts.apiKey !== undefined && key !== opts.apiKey) return reject(oa ? openaiFailure({ status: 401 }) : anthropicFailure({ status: 401 }));
    if (opts.models && !opts.models.includes(rec.model)) {
      return reject(oa ? openaiError(404, `The model \`${rec.model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found') : anthropicError(404, 'not_found_error', `model: ${rec.model}`));
    }

    const next = queue.shift() ?? defaultScript;
    const script = typeof next === 'function' ? next(rec) : next;
    if (script.hang === 'before-headers') return;
    if (script.fail) {
      const f = script.fail;
      const headers: Record<string, string> = {};
      if (f.retryAfter !== undefined) headers['retry-after'] = f.retryAfter;
      if (f.retryAfterMs !== undefined) headers['retry-after-ms'] = String(f.retryAfterMs);
      return reject(oa ? openaiFailure(f) : anthropicFailure(f), headers);
    }
    const p = plan(script, rec);
    if (!rec.stream) return sendJson(res, 200, oa ? openaiComplete(rec, p) : anthropicComplete(rec, p));
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.flushHeaders();
    await (oa ? openaiStream(res, rec, p) : anthropicStream(res, rec, p));
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) sendJson(res, 500, { error: { message: `stand-in failure: ${err.message}`, type: 'server_error' } });
      else res.destroy(err);
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    openaiBaseURL: `${url}/v1`,
    anthropicBaseURL: url,
    requests,
    setScript(s) {
      defaultScript = s;
    },
    enqueue(...s) {
      queue.push(...s);
    },
    waitForRequest(index) {
      const have = requests[index];
      if (have) return Promise.resolve(have);
      return new Promise((resolve) => waiters.set(index, [...(waiters.get(index) ?? []), resolve]));
    },
    async close() {
      // Hanging scripts keep their connections open forever: cut them so close() returns.
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
