import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../harness.ts';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

describe('health, metrics, OpenAPI', () => {
  it('GET /health checks Postgres and Redis', async () => {
    const r = await s.request('GET', '/health', { token: null });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ status: 'ok', checks: { postgres: 'ok', redis: 'ok' } });
  });

  it('GET /metrics is Prometheus text with requests by route and status, latency, pool and connection gauges', async () => {
    await s.request('GET', '/api/me');
    await s.request('GET', '/api/nope');
    const r = await s.request('GET', '/metrics', { token: null });
    expect(r.headers.get('content-type')).toContain('text/plain');
    expect(r.text).toContain('takos_http_requests_total{route="/api/me",method="GET",status="200"}');
    expect(r.text).toContain('takos_http_requests_total{route="unmatched",method="GET",status="404"}');
    expect(r.text).toMatch(/takos_http_request_duration_seconds_bucket\{route="\/api\/me",le="0\.005"\} \d+/);
    expect(r.text).toContain('takos_pg_pool_max 10');
    expect(r.text).toContain('takos_redis_connection_up{conn="cmd"} 1');
    expect(r.text).toContain('# TYPE takos_http_in_flight gauge');
  });

  it('GET /openapi.json documents the routes from their zod schemas', async () => {
    const r = await s.request('GET', '/openapi.json', { token: null });
    expect(r.body.openapi).toBe('3.1.0');
    expect(r.body.paths['/api/spaces/{spaceId}'].get.tags).toEqual(['spaces']);
    expect(r.body.paths['/api/me/personal-access-tokens'].post.requestBody.content['application/json'].schema.properties).toHaveProperty('name');
    expect(r.body.paths['/api/threads/{id}/runs'].post.responses['201']).toBeDefined();
  });
});

describe('conventions of every response (spec 1)', () => {
  it('unknown /api paths answer the 404 envelope; a known path with another method answers 405 with Allow', async () => {
    const r = await s.request('GET', '/api/definitely/not/here');
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ error: { code: 'NOT_FOUND', message: 'Not Found' } });
    const m = await s.request('PUT', '/api/me');
    expect(m.status).toBe(405);
    expect(m.headers.get('allow')).toBe('GET');
    expect(m.body.error.code).toBe('METHOD_NOT_ALLOWED');
  });

  it('security headers on every response, CORS only for allowed origins, preflight', async () => {
    const r = await s.request('GET', '/api/me', { headers: { origin: 'http://localhost:5173' } });
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(r.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
    expect(r.headers.get('permissions-policy')).toBe('camera=(), microphone=(), geolocation=()');
    expect(r.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(r.headers.get('access-control-allow-credentials')).toBe('true');
    const evil = await s.request('GET', '/api/me', { headers: { origin: 'https://evil.example' } });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const pre = await fetch(`${s.url}/api/spaces`, { method: 'OPTIONS', headers: { origin: 'http://127.0.0.1:3000', 'access-control-request-method': 'POST' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-methods')).toContain('PATCH');
    expect(pre.headers.get('access-control-max-age')).toBe('86400');
  });

  it('bodies: 415 without JSON content type, 400 on malformed JSON, 413 over 1 MiB, and nothing stored', async () => {
    const ct = await s.request('POST', '/api/spaces', { raw: true, body: 'name=x', headers: { 'content-type': 'text/plain' } });
    expect(ct.status).toBe(415);
    expect(ct.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const bad = await s.request('POST', '/api/spaces', { raw: true, body: '{"name":', headers: { 'content-type': 'application/json' } });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ error: { code: 'BAD_REQUEST', message: 'Invalid JSON body' } });
    const big = await s.request('POST', '/api/spaces', { body: { name: 'x'.repeat(1024 * 1024 + 10) } });
    expect(big.status).toBe(413);
    expect(big.body.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { max_size: 1048576 } });
    const list = await s.request('GET', '/api/spaces');
    expect(list.body.spaces.filter((x: { kind: string }) => x.kind === 'team')).toHaveLength(0);
  });

  it('limit/offset are clamped, never a 400', async () => {
    for (const q of ['limit=0', 'limit=-5', 'limit=abc', 'limit=100000', 'offset=-1', 'offset=zz']) {
      const r = await s.request('GET', `/api/spaces?${q}`);
      expect(r.status).toBe(200);
      expect(r.body.limit).toBeLessThanOrEqual(100);
      expect(r.body.limit).toBeGreaterThan(0);
    }
  });

  it('a PAT request costs no Postgres query once cached (auth cache), and HEAD works', async () => {
    await s.request('GET', '/api/me');
    const before = s.kernel.authCache.size;
    expect(before).toBeGreaterThan(0);
    const head = await fetch(`${s.url}/health`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });
});
