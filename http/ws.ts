import type { TemplatedApp, WebSocket } from 'uWebSockets.js';
import type { AuthMode, Ctx } from './route.ts';
import type { StreamTopics } from './stream/ws-stream.ts';

/**
 * WebSocket routes. The upgrade goes through the same checks as an HTTP request (route params, authentication,
 * the route's own access check in `open`) before uWS upgrades; a refusal is an ordinary HTTP error response.
 * A plain GET to the same path never reaches here (uWS routes only upgrade requests to `app.ws`), so a family
 * also declares an HTTP route for it that answers 426.
 */
export interface WsConn {
  send(text: string): number;
  end(code?: number, reason?: string): void;
  subscribe(topic: string): boolean;
  unsubscribe(topic: string): boolean;
  bufferedAmount(): number;
  readonly closed: boolean;
}

export interface WsHandler {
  open(conn: WsConn): void;
  /** `text` is null for binary frames. */
  message?(conn: WsConn, text: string | null): void;
  drain?(conn: WsConn): void;
  close?(code: number, reason: string): void;
}

export interface WsRoute {
  path: string;
  family: string;
  summary: string;
  /** Bytes of unsent data per socket before it is closed as a slow consumer (default 1 MiB). */
  maxBackpressure?: number;
  /** Default 'required'; the handler then always has `c.auth`. */
  auth?: AuthMode;
  /** `topics`: the server's stream topics, for handlers that serve an entity stream (http/stream/ws-stream.ts). */
  open(c: Ctx, topics: StreamTopics): Promise<WsHandler> | WsHandler;
}

export const wsRoute = (r: WsRoute): WsRoute => r;

/** Node-level topic publishing: uWS fans one message out to every subscribed socket in C++ (~0.25 us each). */
export class WsBroker {
  private app: TemplatedApp | null = null;
  attach(app: TemplatedApp): void {
    this.app = app;
  }
  publish(topic: string, message: string): boolean {
    return this.app?.publish(topic, message, false, false) ?? false;
  }
  subscribers(topic: string): number {
    return this.app?.numSubscribers(topic) ?? 0;
  }
}

export interface WsUserData {
  handler: WsHandler;
  conn?: WsConn;
}

/**
 * The socket as handlers see it. A class on purpose: the object literal with six arrow functions and a `closed`
 * getter it replaces was stored in dictionary mode by V8 (a getter closing over per-socket state gives every object
 * its own hidden class): ~950 B of heap per socket against ~110 B for an instance (Node 20, measured with 20,000
 * objects; bench/streams "memory" part).
 */
class UwsConn implements WsConn {
  private isClosed = false;
  constructor(private readonly ws: WebSocket<WsUserData>) {}
  send(text: string): number {
    return this.isClosed ? 2 : this.ws.send(text, false, false);
  }
  end(code = 1000, reason = ''): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.ws.end(code, reason);
  }
  subscribe(topic: string): boolean {
    return !this.isClosed && this.ws.subscribe(topic);
  }
  unsubscribe(topic: string): boolean {
    return !this.isClosed && this.ws.unsubscribe(topic);
  }
  bufferedAmount(): number {
    return this.isClosed ? 0 : this.ws.getBufferedAmount();
  }
  get closed(): boolean {
    return this.isClosed;
  }
  /** Called by the server from uWS' close callback: the native socket is gone, nothing may touch it. */
  markClosed(): void {
    this.isClosed = true;
  }
}

export function wrapSocket(ws: WebSocket<WsUserData>): WsConn {
  return new UwsConn(ws);
}
