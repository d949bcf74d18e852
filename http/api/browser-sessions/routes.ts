import { created, reply } from '../../reply.ts';
import { route, type AnyRoute } from '../../route.ts';
import { ALL, requireSpace } from '../spaces/access.ts';
import { ActionResultSchema, ActionSchema } from '../../../workers/browser/actions.ts';
import { ExtractResultSchema, ExtractSchema, GotoResultSchema, GotoSchema, HtmlResultSchema } from '../../../workers/browser/schemas.ts';
import { BrowserSessionSchema, CreateBrowserSessionBody, CreatedSchema, DestroyedSchema, PdfBody, ScreenshotQuery } from './schemas.ts';
import { createSession, destroySession, pageCall, send } from './ops.ts';
import type { GotoResult } from '../../../workers/browser/schemas.ts';

/**
 * Browser sessions (spec 6): a Chromium page per session on a browser worker (workers/browser), its durable record
 * in the browser-session actor. Deviations from the original, on purpose: ownership is checked on every route (not
 * only GET) and a stranger gets 404 (not 403); space membership is checked on create; no proxyToken; caller
 * mistakes are 4xx and page failures 502/504 (the original answered 500 to both); a session that ended says so
 * (GET: stopped/failed with a reason; page routes: 410) instead of vanishing into a 404.
 */
export function browserSessionsRoutes(): AnyRoute[] {
  const family = 'browser-sessions';
  return [
    route({
      method: 'POST',
      path: '/api/spaces/:spaceId/browser-sessions',
      family,
      summary: 'Create a browser session (optionally at a URL) in a space',
      body: CreateBrowserSessionBody.optional(),
      response: CreatedSchema,
      status: 201,
      async handler(c) {
        const { space } = await requireSpace(c.deps.sql, c.auth.userId, c.params.spaceId!, ALL);
        const session = await createSession(c.deps, c.auth.userId, space.id, c.body ?? {});
        return created({ sessionId: session.sessionId, ok: true, session });
      },
    }),
    route({
      method: 'GET',
      path: '/api/browser-sessions/:id',
      family,
      summary: 'Get a browser session (status, and why it ended)',
      response: BrowserSessionSchema,
      async handler(c) {
        return send(c.deps, c.params.id!, { type: 'get', userId: c.auth.userId });
      },
    }),
    route({
      method: 'POST',
      path: '/api/browser-sessions/:id/goto',
      family,
      summary: 'Navigate the session page to a URL',
      body: GotoSchema,
      response: GotoResultSchema,
      async handler(c) {
        const { result } = await pageCall(c.deps, c.auth.userId, c.params.id!, 'goto', c.body);
        const r = result.value as GotoResult;
        await send(c.deps, c.params.id!, { type: 'navigated', url: r.url }).catch(() => {});
        return r;
      },
    }),
    route({
      method: 'POST',
      path: '/api/browser-sessions/:id/action',
      family,
      summary: 'Run one browser action (click, type, scroll, select, hover, press, check, uncheck, focus, clear, wait)',
      body: ActionSchema,
      response: ActionResultSchema,
      async handler(c) {
        return (await pageCall(c.deps, c.auth.userId, c.params.id!, 'action', c.body)).result.value;
      },
    }),
    route({
      method: 'POST',
      path: '/api/browser-sessions/:id/extract',
      family,
      summary: 'Extract elements by selector, or the value of a JS expression',
      body: ExtractSchema,
      response: ExtractResultSchema,
      async handler(c) {
        return (await pageCall(c.deps, c.auth.userId, c.params.id!, 'extract', c.body)).result.value;
      },
    }),
    route({
      method: 'GET',
      path: '/api/browser-sessions/:id/html',
      family,
      summary: 'HTML of the session page (cut at 100,000 characters)',
      response: HtmlResultSchema,
      async handler(c) {
        return (await pageCall(c.deps, c.auth.userId, c.params.id!, 'html', {})).result.value;
      },
    }),
    route({
      method: 'GET',
      path: '/api/browser-sessions/:id/screenshot',
      family,
      summary: 'PNG screenshot of the page (viewport; ?fullPage=true or ?clip=x,y,width,height)',
      query: ScreenshotQuery,
      async handler(c) {
        const q = c.query;
        const input = { ...(q.fullPage !== undefined ? { fullPage: q.fullPage } : {}), ...(q.clip ? { clip: q.clip } : {}), ...(q.timeout ? { timeout: q.timeout } : {}) };
        const { result } = await pageCall(c.deps, c.auth.userId, c.params.id!, 'screenshot', input);
        const meta = result.value as { width: number; height: number; truncated: boolean };
        return reply(200, result.bytes, { 'Content-Type': 'image/png', 'X-Image-Width': String(meta.width), 'X-Image-Height': String(meta.height), 'X-Truncated': String(meta.truncated) });
      },
    }),
    route({
      method: 'POST',
      path: '/api/browser-sessions/:id/pdf',
      family,
      summary: 'PDF of the page (A4 unless told otherwise)',
      body: PdfBody,
      async handler(c) {
        const { result } = await pageCall(c.deps, c.auth.userId, c.params.id!, 'pdf', c.body ?? {});
        return reply(200, result.bytes, { 'Content-Type': 'application/pdf' });
      },
    }),
    route({
      method: 'DELETE',
      path: '/api/browser-sessions/:id',
      family,
      summary: 'Destroy a browser session (closes its page; idempotent)',
      response: DestroyedSchema,
      async handler(c) {
        const session = await destroySession(c.deps, c.auth.userId, c.params.id!);
        return { ok: true as const, message: 'Session destroyed', session };
      },
    }),
  ];
}
