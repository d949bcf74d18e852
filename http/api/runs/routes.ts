import { z } from 'zod';
import { AppError } from '../../../runtime/errors.ts';
import { reply, created } from '../../reply.ts';
import { route, type AnyRoute } from '../../route.ts';
import { sseStream } from '../../stream/sse.ts';
import { wsStreamHandler } from '../../stream/ws-stream.ts';
import { wsRoute, type WsRoute } from '../../ws.ts';
import { RoleSchema } from '../spaces/views.ts';
import { EDITOR_PLUS } from '../spaces/access.ts';
import { requireThread } from '../threads/access.ts';
import { RUN_KIND } from '../../../actors/run/kind.ts';
import { cancelRun, enqueueRun, runEventHistory } from './runtime.ts';
import { createRun, insertArtifact, listArtifacts, listRuns, parseCursor, readRunEvents, requireArtifact, requireRun } from './queries.ts';
import { ArtifactSchema, CreateArtifactBody, CreateRunBody, EventSchema, EventsQuery, ListRunsQuery, RunSchema } from './schemas.ts';
import { artifactView, runView } from './views.ts';

/**
 * Runs (spec 3): creation with the hierarchy and rate-limit rules, lists, reads, the event stream over JSON, SSE
 * and WebSocket (one contiguous id sequence for all three), cancellation through the run actor, and artifacts.
 */
const eventJson = (runId: string) => (e: { id: number; type: string; data: unknown; created_at: string }) => ({
  id: e.id,
  event_id: String(e.id),
  run_id: runId,
  type: e.type,
  data: JSON.stringify(e.data),
  created_at: e.created_at,
});

const resumePoint = (header: string | undefined, query: string | null): number => {
  for (const v of [header, query]) if (v !== undefined && v !== null && /^\d+$/.test(v) && Number.isSafeInteger(Number(v))) return Number(v);
  return 0;
};

export function runsRoutes(): AnyRoute[] {
  return [
    route({
      method: 'POST',
      path: '/api/threads/:id/runs',
      family: 'runs',
      summary: 'Create a run in a thread and queue it',
      body: CreateRunBody,
      response: z.object({ run: RunSchema }),
      status: 201,
      async handler(c) {
        const { thread } = await requireThread(c.deps.sql, c.auth.userId, c.params.id!, EDITOR_PLUS);
        if (thread.status === 'deleted') throw new AppError('CONFLICT', 'Thread is deleted');
        const run = await createRun(c.deps.sql, {
          threadId: thread.id,
          spaceId: thread.account_id,
          requesterId: c.auth.userId,
          agentType: c.body.agent_type ?? 'default',
          input: c.body.input ?? {},
          parentRunId: c.body.parent_run_id ?? null,
          model: c.body.model ?? null,
        });
        await enqueueRun(c.deps, run);
        return created({ run: runView(run) });
      },
    }),
    route({
      method: 'GET',
      path: '/api/threads/:id/runs',
      family: 'runs',
      summary: 'List the runs of a thread (newest first, cursor pagination)',
      query: ListRunsQuery,
      response: z.object({ runs: z.array(RunSchema), limit: z.number(), active_only: z.boolean(), cursor: z.string().nullable(), next_cursor: z.string().nullable() }),
      async handler(c) {
        await requireThread(c.deps.sql, c.auth.userId, c.params.id!);
        const cursor = parseCursor(c.query.cursor);
        const rows = await listRuns(c.deps.sql, c.params.id!, { activeOnly: c.query.active_only, limit: c.query.limit, cursor });
        const last = rows[rows.length - 1];
        return {
          runs: rows.map(runView),
          limit: c.query.limit,
          active_only: c.query.active_only,
          cursor: cursor ? `${cursor.at.toISOString()}${cursor.id ? ',' + cursor.id : ''}` : null,
          next_cursor: rows.length === c.query.limit && last ? `${last.created_at.toISOString()},${last.id}` : null,
        };
      },
    }),
    route({
      method: 'GET',
      path: '/api/runs/:id',
      family: 'runs',
      summary: 'A run and the caller’s role in its space',
      response: z.object({ run: RunSchema, role: RoleSchema }),
      async handler(c) {
        const { run, role } = await requireRun(c.deps.sql, c.auth.userId, c.params.id!);
        return { run: runView(run), role };
      },
    }),
    route({
      method: 'POST',
      path: '/api/runs/:id/cancel',
      family: 'runs',
      summary: 'Cancel a run (it stops within 2 s if running)',
      response: z.object({ success: z.literal(true) }),
      async handler(c) {
        const { run } = await requireRun(c.deps.sql, c.auth.userId, c.params.id!, EDITOR_PLUS);
        await cancelRun(c.deps, run.id, c.auth.userId);
        return { success: true as const };
      },
    }),
    ...(['events', 'replay'] as const).map((name) =>
      route({
        method: 'GET',
        path: `/api/runs/:id/${name}`,
        family: 'runs',
        summary: name === 'events' ? 'Events after last_event_id' : 'Events after last_event_id (alias: after)',
        query: EventsQuery,
        response: z.object({ events: z.array(EventSchema), run_status: RunSchema.shape.status, last_event_id: z.number(), has_more: z.boolean() }),
        async handler(c) {
          const { run } = await requireRun(c.deps.sql, c.auth.userId, c.params.id!);
          const after = name === 'replay' && c.req.searchParams.has('after') && !c.req.searchParams.has('last_event_id') ? c.query.after : c.query.last_event_id;
          const events = await readRunEvents(c.deps.sql, run.id, after, c.query.limit + 1);
          const hasMore = events.length > c.query.limit;
          const page = hasMore ? events.slice(0, c.query.limit) : events;
          return { events: page.map(eventJson(run.id)), run_status: run.status, last_event_id: run.last_event_id, has_more: hasMore };
        },
      }),
    ),
    route({
      method: 'GET',
      path: '/api/runs/:id/sse',
      family: 'runs',
      summary: 'Live events over Server-Sent Events (resume with Last-Event-ID)',
      longLived: true,
      async handler(c) {
        const { run } = await requireRun(c.deps.sql, c.auth.userId, c.params.id!);
        const after = resumePoint(c.req.headers['last-event-id'], c.req.searchParams.get('last_event_id'));
        return sseStream({ kind: RUN_KIND, id: run.id, afterId: after, deps: { ...c.deps.streams, history: runEventHistory(c.deps.sql) }, log: c.log });
      },
    }),
    route({
      method: 'GET',
      path: '/api/runs/:id/ws',
      family: 'runs',
      summary: 'Live events over WebSocket (upgrade required)',
      async handler(c) {
        await requireRun(c.deps.sql, c.auth.userId, c.params.id!);
        return reply(426, { error: { code: 'BAD_REQUEST', message: 'Expected WebSocket upgrade' } }, { Upgrade: 'websocket' });
      },
    }),
    route({
      method: 'GET',
      path: '/api/runs/:id/artifacts',
      family: 'runs',
      summary: 'Artifacts of a run',
      response: z.object({ artifacts: z.array(ArtifactSchema) }),
      async handler(c) {
        const { run } = await requireRun(c.deps.sql, c.auth.userId, c.params.id!);
        return { artifacts: (await listArtifacts(c.deps.sql, run.id)).map(artifactView) };
      },
    }),
    route({
      method: 'POST',
      path: '/api/runs/:id/artifacts',
      family: 'runs',
      summary: 'Create an artifact of a run',
      body: CreateArtifactBody,
      response: z.object({ artifact: ArtifactSchema }),
      status: 201,
      async handler(c) {
        const { run } = await requireRun(c.deps.sql, c.auth.userId, c.params.id!, EDITOR_PLUS);
        return created({ artifact: artifactView(await insertArtifact(c.deps.sql, run, c.body)) });
      },
    }),
    route({
      method: 'GET',
      path: '/api/artifacts/:id',
      family: 'runs',
      summary: 'One artifact',
      response: z.object({ artifact: ArtifactSchema }),
      async handler(c) {
        return { artifact: artifactView(await requireArtifact(c.deps.sql, c.auth.userId, c.params.id!)) };
      },
    }),
  ];
}

export function runsWsRoutes(): WsRoute[] {
  return [
    wsRoute({
      path: '/api/runs/:id/ws',
      family: 'runs',
      summary: 'Live events over WebSocket',
      async open(c, topics) {
        const { run } = await requireRun(c.deps.sql, c.auth!.userId, c.params.id!);
        const after = resumePoint(undefined, c.req.searchParams.get('last_event_id'));
        return wsStreamHandler({
          kind: RUN_KIND,
          id: run.id,
          afterId: after,
          lastEventId: run.last_event_id,
          deps: { ...c.deps.streams, history: runEventHistory(c.deps.sql) },
          topics,
          log: c.log,
          subscribeKey: 'runId',
        });
      },
    }),
  ];
}

