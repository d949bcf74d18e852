import { STATUS_CODES } from 'node:http';
import uWS from 'uWebSockets.js';
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import { z } from 'zod';
import { authenticate } from '../runtime/auth/authenticate.ts';
import { AppError, fromDatabaseError, INTERNAL_MESSAGE, toErrorBody, type ErrorCode } from '../runtime/errors.ts';
import { newErrorId } from '../runtime/ids.ts';
import { createHttpMetrics, Gauge } from '../runtime/metrics.ts';
import { Semaphore } from './admission.ts';
import { API_BODY_LIMIT, checkContentType, mediaType, readBody } from './body.ts';
import { endInPieces, STREAM_ABOVE } from './large-body.ts';
import type { AppDeps } from './deps.ts';
import { corsPolicy, SECURITY_HEADERS } from './headers.ts';
import { invalidParam } from './params.ts';
import { RawResponder, Reply } from './reply.ts';
import { Router } from './router.ts';
import type { AnyRoute, Ctx, RequestInfo } from './route.ts';
import { CorkAnchor } from './cork-anchor.ts';
import { WsBroker, wrapSocket, type WsRoute, type WsUserData } from './ws.ts';
import { StreamTopics } from './stream/ws-stream.ts';

/**
 * The request lifecycle, once, in order (see docs/architecture.md for the picture):
 *
 *   uWS handler (synchronous: copy method, url, query, headers; register onAborted)
 *   -> OPTIONS preflight answered here
 *   -> route match (404 envelope / 405 with Allow)
 *   -> route-param rules (400 before any auth, spec 1.2)
 *   -> body: Content-Length over the limit 413, content type 415, streamed read capped at the limit
 *   -> admission (at most PG_POOL_MAX handlers in flight)
 *   -> authenticate (401 on required routes)
 *   -> parse + validate body and query with the route's zod schemas (400 bad JSON, 422 with details)
 *   -> handler -> Reply | RawResponder | plain object (200 JSON)
 *   -> errors: AppError as is, database constraint errors as 4xx, anything else 500 with an error_id in the log
 *   -> one corked write: status, security + CORS headers, body
 *
 * A client that disconnects flips `aborted`; nothing touches the response after that.
 */

export interface HttpServer {
  app: TemplatedApp;
  listen(host: string, port: number): Promise<number>;
  /** Stops accepting, waits for in-flight requests up to `graceMs`, then closes every connection. */
  close(graceMs?: number): Promise<void>;
  readonly inFlight: number;
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** A runtime session's heartbeat token is good for its session's runtime routes only (route.sessionTokens). */
const SESSION_TOKEN_REFUSED = 'A session-bound service token is accepted only by session runtime routes';

interface ReqState {
  aborted: boolean;
  onAbort: Array<() => void>;
  started: number;
  routeLabel: string;
  method: string;
  origin: string | undefined;
}

/** RequestInfo with the query parsed on first use: most routes never read it (URLSearchParams per request). */
class IncomingRequest implements RequestInfo {
  private parsed: URLSearchParams | null = null;
  constructor(
    readonly method: string,
    readonly path: string,
    readonly rawQuery: string,
    readonly headers: Record<string, string>,
    readonly ip: string,
  ) {}
  get searchParams(): URLSearchParams {
    return (this.parsed ??= new URLSearchParams(this.rawQuery));
  }
}

export function createHttpServer(deps: AppDeps, routes: AnyRoute[], wsRoutes: WsRoute[] = [], broker = new WsBroker()): HttpServer {
  const router = new Router<AnyRoute>();
  for (const r of routes) router.add(r.method, r.path, r);
  const cors = corsPolicy(deps.config);
  const admission = new Semaphore(deps.config.PG_POOL_MAX);
  const m = createHttpMetrics(deps.metrics);
  let inFlight = 0;
  deps.metrics.register(new Gauge('takos_http_in_flight', 'requests being handled by this process', () => inFlight));
  deps.metrics.register(new Gauge('takos_http_admission_queued', 'requests waiting for a database slot', () => admission.queued));
  const app = uWS.App();
  broker.attach(app);
  const topics = new StreamTopics(broker);
  const anchor = new CorkAnchor();
  anchor.attach(app);
  let listenSocket: us_listen_socket | null = null;
  let openSockets = 0;
  deps.metrics.register(new Gauge('takos_ws_open', 'open WebSocket connections of this process', () => openSockets));

  const finish = (st: ReqState, status: number) => {
    inFlight--;
    m.requests.inc({ route: st.routeLabel, method: st.method, status: String(status) });
    m.latency.observe({ route: st.routeLabel }, (performance.now() - st.started) / 1000);
  };

  const send = (res: HttpResponse, st: ReqState, status: number, body: unknown, headers: Record<string, string> = {}) => {
    if (st.aborted) return;
    let payload: string | Buffer | null;
    let contentType: string | null = null;
    if (body === null || body === undefined || status === 204 || status === 304) payload = null;
    else if (Buffer.isBuffer(body)) payload = body;
    else if (typeof body === 'string') {
      payload = body;
      contentType = 'text/plain; charset=utf-8';
    } else {
      payload = JSON.stringify(body);
      contentType = 'application/json; charset=utf-8';
    }
    // `Connection: close` (the 413 answer) is left to uWS, which writes the header, sends the response and then closes
    // the socket, so the rest of an oversize upload is never read. (A res.close() after end() threw: response done.)
    const closeConnection = headers['Connection'] === 'close';
    res.cork(() => {
      res.writeStatus(`${status} ${STATUS_CODES[status] ?? ''}`);
      for (const [k, v] of SECURITY_HEADERS) res.writeHeader(k, v);
      for (const [k, v] of cors.headers(st.origin)) res.writeHeader(k, v);
      let hasType = false;
      for (const k in headers) {
        if (closeConnection && k === 'Connection') continue;
        if (k.toLowerCase() === 'content-type') hasType = true;
        res.writeHeader(k, headers[k]!);
      }
      if (contentType && !hasType) res.writeHeader('Content-Type', contentType);
      if (st.method === 'HEAD' || payload === null) res.endWithoutBody(payload === null ? 0 : Buffer.byteLength(payload), closeConnection);
      else if (payload.length > STREAM_ABOVE && !closeConnection) endInPieces(res, typeof payload === 'string' ? Buffer.from(payload) : payload, () => st.aborted);
      else res.end(payload, closeConnection);
    });
    finish(st, status);
  };

  // uWS keeps a response's abort handler until the response ends: for SSE, as long as the client stays. It is built
  // here so that its scope is the request state alone, not the scope of the request handler below, which holds the
  // headers, query and route match (~1 KB of heap per open SSE connection, bench/streams "memory").
  const abortHandler = (st: ReqState) => () => {
    if (st.aborted) return;
    st.aborted = true;
    for (const f of st.onAbort) f();
    finish(st, 499);
  };

  const sendError = (res: HttpResponse, st: ReqState, err: unknown, log = deps.log) => {
    const appErr = err instanceof AppError ? err : err instanceof z.ZodError ? zodToAppError(err) : fromDatabaseError(err);
    if (appErr) {
      send(res, st, appErr.status, toErrorBody(appErr.code, appErr.message, appErr.details), appErr.headers);
      return;
    }
    const errorId = newErrorId();
    log.error({ err, error_id: errorId, route: st.routeLabel }, 'unhandled error');
    send(res, st, 500, toErrorBody('INTERNAL_ERROR', INTERNAL_MESSAGE, { error_id: errorId }));
  };

  const fail = (res: HttpResponse, st: ReqState, code: ErrorCode, message: string, details?: unknown, headers?: Record<string, string>) =>
    sendError(res, st, new AppError(code, message, { details, ...(headers ? { headers } : {}) }));

  for (const wr of wsRoutes) {
    const names = [...wr.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
    app.ws<WsUserData>(wr.path, {
      maxPayloadLength: 64 * 1024,
      idleTimeout: 120,
      sendPingsAutomatically: true,
      maxBackpressure: wr.maxBackpressure ?? 1024 * 1024,
      // Typed as number in this index.d.ts but read as a boolean by the addon: close a socket past maxBackpressure.
      closeOnBackpressureLimit: 1,
      upgrade: (res, req, context) => {
        const headers: Record<string, string> = {};
        req.forEach((k, v) => {
          headers[k] = v;
        });
        const params: Record<string, string> = {};
        names.forEach((n, i) => {
          const raw = req.getParameter(i) ?? '';
          try {
            params[n] = decodeURIComponent(raw);
          } catch {
            params[n] = raw;
          }
        });
        const path = req.getUrl();
        const rawQuery = req.getQuery() ?? '';
        const key = headers['sec-websocket-key'] ?? '';
        const proto = headers['sec-websocket-protocol'] ?? '';
        const ext = headers['sec-websocket-extensions'] ?? '';
        const st: ReqState = { aborted: false, onAbort: [], started: performance.now(), routeLabel: wr.path, method: 'GET', origin: headers['origin'] };
        inFlight++;
        res.onAborted(() => {
          if (st.aborted) return;
          st.aborted = true;
          finish(st, 499);
        });
        const bad = invalidParam(params);
        if (bad) return fail(res, st, 'BAD_REQUEST', `Invalid route parameter: ${bad}`);
        const ip = headerIp(deps.config.TRUST_PROXY, headers) ?? Buffer.from(res.getRemoteAddressAsText()).toString();
        const info: RequestInfo = new IncomingRequest('GET', path, rawQuery, headers, ip);
        void (async () => {
          try {
            const ctx: Ctx = { req: info, params, body: undefined, query: undefined, auth: null, deps, log: deps.log, responseHeaders: {}, rawBody: EMPTY };
            if ((wr.auth ?? 'required') !== 'none') {
              const a = await authenticate(deps, headers);
              if (a.kind === 'ok') ctx.auth = a.principal;
              else if ((wr.auth ?? 'required') === 'required') throw a.kind === 'invalid' ? a.error : new AppError('UNAUTHORIZED', 'Authentication required');
              if (ctx.auth?.boundSessionId) throw new AppError('FORBIDDEN', SESSION_TOKEN_REFUSED);
            }
            const handler = await wr.open(ctx, topics);
            if (st.aborted) {
              handler.close?.(1006, 'client went away before the upgrade');
              return;
            }
            anchor.corkUpgrade(res, () => res.upgrade<WsUserData>({ handler }, key, proto, ext, context));
            finish(st, 101);
          } catch (err) {
            sendError(res, st, err);
          }
        })();
      },
      open: (ws) => {
        openSockets++;
        const ud = ws.getUserData();
        const conn = wrapSocket(ws);
        ud.conn = conn;
        // uWS runs `open` inside the cork of our asynchronous `res.upgrade`; sending from there can dirty-close the new
        // socket in the uWS build we pin (uWebSockets.js#1108, fixed upstream by uWebSockets#1929). Seen here as ~1 in
        // 5 sockets closing with 1006 right after `connected` under load. So the handler opens on the next turn.
        setImmediate(() => {
          if (!conn.closed) ud.handler.open(conn);
        });
      },
      message: (ws, msg, isBinary) => {
        const ud = ws.getUserData();
        ud.handler.message?.(ud.conn!, isBinary ? null : Buffer.from(msg).toString('utf8'));
      },
      drain: (ws) => {
        const ud = ws.getUserData();
        ud.handler.drain?.(ud.conn!);
      },
      close: (ws, code, msg) => {
        openSockets--;
        const ud = ws.getUserData();
        (ud.conn as { markClosed?: () => void } | undefined)?.markClosed?.();
        ud.handler.close?.(code, Buffer.from(msg).toString('utf8'));
      },
    });
  }

  app.any('/*', (res: HttpResponse, req: HttpRequest) => {
    const method = req.getCaseSensitiveMethod().toUpperCase();
    const path = req.getUrl();
    const rawQuery = req.getQuery() ?? '';
    const headers: Record<string, string> = {};
    req.forEach((k, v) => {
      headers[k] = v;
    });
    const st: ReqState = { aborted: false, onAbort: [], started: performance.now(), routeLabel: 'unmatched', method, origin: headers['origin'] };
    inFlight++;
    res.onAborted(abortHandler(st));

    if (method === 'OPTIONS') {
      res.cork(() => {
        res.writeStatus('204 No Content');
        for (const [k, v] of SECURITY_HEADERS) res.writeHeader(k, v);
        for (const [k, v] of cors.preflight(st.origin)) res.writeHeader(k, v);
        res.endWithoutBody(0);
      });
      finish(st, 204);
      return;
    }

    if (deps.config.ENVIRONMENT === 'production' && deps.config.TRUST_PROXY) {
      const proto = headers['x-forwarded-proto'];
      if (proto && proto !== 'https') return fail(res, st, 'FORBIDDEN', 'HTTPS required');
    }

    const match = router.match(method, path);
    if (match.kind === 'not-found') return fail(res, st, 'NOT_FOUND', 'Not Found');
    if (match.kind === 'method-not-allowed') {
      return fail(res, st, 'METHOD_NOT_ALLOWED', `Method ${method} not allowed`, undefined, { Allow: match.allowed.join(', ') });
    }
    const route = match.value;
    st.routeLabel = route.path;
    const bad = invalidParam(match.params);
    if (bad) return fail(res, st, 'BAD_REQUEST', `Invalid route parameter: ${bad}`);

    const ip = headerIp(deps.config.TRUST_PROXY, headers) ?? Buffer.from(res.getRemoteAddressAsText()).toString();
    const info: RequestInfo = new IncomingRequest(method, path, rawQuery, headers, ip);

    if (!BODY_METHODS.has(method)) {
      void run(res, st, route, info, match.params, EMPTY);
      return;
    }
    const limit = route.bodyLimit ?? API_BODY_LIMIT;
    const declared = headers['content-length'];
    const tooLarge = () =>
      sendError(res, st, new AppError('PAYLOAD_TOO_LARGE', `Request body exceeds ${limit} bytes`, { details: { max_size: limit }, headers: { Connection: 'close' } }));
    if (declared !== undefined && Number(declared) > limit) {
      tooLarge();
      return;
    }
    const hasBody = (declared !== undefined && Number(declared) > 0) || headers['transfer-encoding'] !== undefined;
    if (hasBody && !route.rawBody) {
      const ct = checkContentType(headers['content-type']);
      if (!ct.ok) return fail(res, st, 'UNSUPPORTED_MEDIA_TYPE', ct.message);
    }
    if (!hasBody) {
      void run(res, st, route, info, match.params, EMPTY);
      return;
    }
    readBody(
      res,
      limit,
      (body) => void run(res, st, route, info, match.params, body),
      () => tooLarge(),
    );
  });

  async function run(res: HttpResponse, st: ReqState, route: AnyRoute, info: RequestInfo, params: Record<string, string>, rawBody: Buffer) {
    const admitted = !route.longLived;
    if (admitted) await admission.acquire();
    try {
      if (st.aborted) return;
      const ctx: Ctx = { req: info, params, body: undefined, query: undefined, auth: null, deps, log: deps.log, responseHeaders: {}, rawBody };
      if (route.auth !== 'none') {
        const a = await authenticate(deps, info.headers);
        if (a.kind === 'ok') ctx.auth = a.principal;
        else if (route.auth === 'required') throw a.kind === 'invalid' ? a.error : new AppError('UNAUTHORIZED', 'Authentication required');
        if (ctx.auth?.boundSessionId && !route.sessionTokens) throw new AppError('FORBIDDEN', SESSION_TOKEN_REFUSED);
      }
      if (route.query) ctx.query = validate(route.query, Object.fromEntries(info.searchParams), 'query');
      if (route.body) ctx.body = validate(route.body, parseBody(rawBody, info.headers['content-type']), 'body');
      const out = await route.handler(ctx);
      if (st.aborted) return;
      if (out instanceof RawResponder) {
        const common: Record<string, string> = { ...ctx.responseHeaders };
        for (const [k, v] of SECURITY_HEADERS) common[k] = v;
        for (const [k, v] of cors.headers(st.origin)) common[k] = v;
        // The stream's own lifetime is not a request's; count it as done for metrics and shutdown draining.
        finish(st, 200);
        // concat, not push: the list lives as long as the stream, and a [] pushed to once grows to 17 slots (152 B).
        out.run(res, { isAborted: () => st.aborted, onAbort: (f) => (st.onAbort = st.onAbort.concat(f)), commonHeaders: common });
        return;
      }
      if (out instanceof Reply) send(res, st, out.status, out.body, { ...ctx.responseHeaders, ...out.headers });
      else send(res, st, 200, out ?? {}, ctx.responseHeaders);
    } catch (err) {
      sendError(res, st, err);
    } finally {
      if (admitted) admission.release();
    }
  }

  return {
    app,
    get inFlight() {
      return inFlight;
    },
    listen(host: string, port: number) {
      return new Promise<number>((resolve, reject) => {
        app.listen(host, port, (sock) => {
          if (!sock) return reject(new Error(`could not listen on ${host}:${port}`));
          listenSocket = sock;
          const bound = uWS.us_socket_local_port(sock as unknown as uWS.us_socket);
          void anchor.connect(host, bound).then(() => resolve(bound));
        });
      });
    },
    async close(graceMs = deps.config.SHUTDOWN_GRACE_MS) {
      anchor.close();
      if (listenSocket) uWS.us_listen_socket_close(listenSocket);
      listenSocket = null;
      const deadline = Date.now() + graceMs;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      app.close();
      topics.close();
    },
  };
}

const EMPTY = Buffer.alloc(0);

function headerIp(trust: boolean, headers: Record<string, string>): string | null {
  if (!trust) return null;
  const xff = headers['x-forwarded-for'];
  return xff ? xff.split(',')[0]!.trim() : null;
}

function parseBody(raw: Buffer, contentType: string | undefined): unknown {
  if (raw.length === 0) return undefined;
  const mt = mediaType(contentType);
  if (mt === 'application/x-www-form-urlencoded') return Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
  if (mt !== 'application/json') throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'This endpoint accepts application/json');
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new AppError('BAD_REQUEST', 'Invalid JSON body');
  }
}

function validate<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query'): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw zodToAppError(r.error, where);
}

/** zod issues -> 422 with `details: [{path, message, code}]` (the original answers with no details). */
export function zodToAppError(err: z.ZodError, where?: 'body' | 'query'): AppError {
  return new AppError('VALIDATION_ERROR', 'Validation error', {
    details: err.issues.map((i) => ({ ...(where ? { in: where } : {}), path: i.path.join('.'), message: i.message, code: i.code })),
  });
}
