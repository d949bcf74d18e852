import { z } from 'zod';
import type { AnyRoute } from './route.ts';

/**
 * The OpenAPI document is derived from the same zod schemas that validate requests, so it cannot drift from what
 * the server enforces.
 */
export function buildOpenApi(routes: AnyRoute[], serverUrl: string): object {
  const paths: Record<string, Record<string, unknown>> = {};
  const toJson = (s: z.ZodType, io: 'input' | 'output') => {
    try {
      return z.toJSONSchema(s, { io, unrepresentable: 'any' });
    } catch {
      return {};
    }
  };
  for (const r of routes) {
    const p = r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const params = [...r.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const query =
      r.query instanceof z.ZodObject
        ? Object.keys(r.query.shape as Record<string, unknown>).map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } }))
        : [];
    const op: Record<string, unknown> = {
      summary: r.summary,
      tags: [r.family],
      parameters: [...params, ...query],
      responses: {
        [String(r.status ?? 200)]: {
          description: 'Success',
          ...(r.response ? { content: { 'application/json': { schema: toJson(r.response, 'output') } } } : {}),
        },
        default: { description: 'Error envelope', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
      ...(r.auth === 'required' ? { security: [{ bearer: [] }, { cookie: [] }] } : {}),
    };
    if (r.body) op.requestBody = { required: true, content: { 'application/json': { schema: toJson(r.body, 'input') } } };
    (paths[p] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Takos Runtime API', version: '0.1.0' },
    servers: [{ url: serverUrl }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'tak_pat_ personal access token or a web session id' },
        cookie: { type: 'apiKey', in: 'cookie', name: '__Host-tp_session' },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} } } },
        },
      },
    },
  };
}
