import { z } from 'zod';
import { reply } from '../../reply.ts';
import { route, type AnyRoute } from '../../route.ts';
import { buildOpenApi } from '../../openapi.ts';

/** Liveness/readiness, Prometheus metrics and the OpenAPI document. Unauthenticated; not under /api. */
export function systemRoutes(getRoutes: () => AnyRoute[]): AnyRoute[] {
  return [
    route({
      method: 'GET',
      path: '/health',
      family: 'system',
      summary: 'Health: checks Postgres and Redis',
      auth: 'none',
      response: z.object({ status: z.enum(['ok', 'degraded']), checks: z.object({ postgres: z.string(), redis: z.string() }) }),
      async handler(c) {
        const timeout = <T>(p: Promise<T>) => Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timeout')), 2000))]);
        const [pg, rd] = await Promise.allSettled([timeout(c.deps.sql`SELECT 1`), timeout(c.deps.redis.cmd.ping())]);
        const checks = { postgres: pg.status === 'fulfilled' ? 'ok' : 'down', redis: rd.status === 'fulfilled' ? 'ok' : 'down' };
        const ok = checks.postgres === 'ok' && checks.redis === 'ok';
        return reply(ok ? 200 : 503, { status: ok ? 'ok' : 'degraded', checks });
      },
    }),
    route({
      method: 'GET',
      path: '/metrics',
      family: 'system',
      summary: 'Prometheus metrics of this process',
      auth: 'none',
      handler: (c) => reply(200, c.deps.metrics.render(), { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }),
    }),
    route({
      method: 'GET',
      path: '/openapi.json',
      family: 'system',
      summary: 'OpenAPI 3.1 document generated from the route schemas',
      auth: 'none',
      handler: (c) => buildOpenApi(getRoutes(), c.deps.config.publicUrl),
    }),
  ];
}
