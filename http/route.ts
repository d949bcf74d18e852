import type { z } from 'zod';
import type { AppDeps } from './deps.ts';
import type { Principal } from '../runtime/auth/principal.ts';
import type { Logger } from '../runtime/log.ts';
import type { RawResponder } from './reply.ts';
import type { Reply } from './reply.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RequestInfo {
  method: string;
  path: string;
  /** Raw query string without the leading '?'. */
  rawQuery: string;
  searchParams: URLSearchParams;
  headers: Record<string, string>;
  ip: string;
}

export interface Ctx<B = unknown, Q = unknown> {
  req: RequestInfo;
  params: Record<string, string>;
  body: B;
  query: Q;
  /** The authenticated caller, or null on routes with `auth: 'optional'`/`'none'` when nobody is signed in. */
  auth: Principal | null;
  deps: AppDeps;
  log: Logger;
  /** Headers added to whatever the handler answers (e.g. Set-Cookie). */
  responseHeaders: Record<string, string>;
  /** Raw body bytes (always available, even when a schema parsed it). */
  rawBody: Buffer;
}

/** A Ctx whose caller is known to be signed in (routes with `auth: 'required'`, the default). */
export type AuthedCtx<B = unknown, Q = unknown> = Ctx<B, Q> & { auth: Principal };

export type AuthMode = 'required' | 'optional' | 'none';

/** What every endpoint declares besides its schemas, auth mode and handler. */
interface RouteOptions {
  method: Method;
  path: string;
  summary: string;
  /** Tag for the OpenAPI document, normally the route family. */
  family: string;
  /** Response body schema, for the OpenAPI document. */
  response?: z.ZodType;
  /** Success status, for the OpenAPI document. */
  status?: number;
  /** Bytes; defaults to the API's 1 MiB. */
  bodyLimit?: number;
  /** Accept any content type and leave parsing to the handler (rawBody). */
  rawBody?: boolean;
  /** Handlers that hold a connection open (SSE, WebSocket upgrade) skip database admission control. */
  longLived?: boolean;
  /**
   * Accept service tokens bound to a runtime session (a session runtime's heartbeat token). Every other route refuses
   * them with 403, so a token handed to a runtime cannot be used to act as its user elsewhere.
   */
  sessionTokens?: boolean;
}

export interface RouteSpec<B extends z.ZodType | undefined, Q extends z.ZodType | undefined, A extends AuthMode> extends RouteOptions {
  auth?: A;
  body?: B;
  query?: Q;
  handler: (
    c: A extends 'required' ? AuthedCtx<Infer<B>, Infer<Q>> : Ctx<Infer<B>, Infer<Q>>,
  ) => Promise<Reply | RawResponder | object | null> | Reply | RawResponder | object | null;
}

type Infer<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface AnyRoute extends RouteOptions {
  auth: AuthMode;
  body?: z.ZodType;
  query?: z.ZodType;
  handler: (c: Ctx<unknown, unknown>) => Promise<unknown> | unknown;
}

/** Declares one endpoint. Types flow from the zod schemas into the handler's `c.body` and `c.query`. */
export function route<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined, A extends AuthMode = 'required'>(
  spec: RouteSpec<B, Q, A>,
): AnyRoute {
  return { ...spec, auth: spec.auth ?? 'required' } as unknown as AnyRoute;
}
