/**
 * The "composite ceiling" of perf/ceilings.md, as a bare server: a uWebSockets.js endpoint that per request does
 * 1 Redis GET (ioredis, auto-pipelined like the project's command connection) and 1 Postgres primary-key SELECT
 * (postgres.js, pool 50, prepared statements like runtime/db.ts), then answers a small JSON.
 *
 * It shares nothing with the project's code on purpose: it is what any Node server on this stack pays at least, so
 * the ratio project/baseline measures what the project's own layers (routing, auth, admission, validation, views,
 * headers, metrics) cost on top. The two awaits are sequential, as in a typical handler (look up a key, then load a
 * row); in-flight database queries never exceed the pool at 50 connections.
 *
 * Env: DATABASE_URL, REDIS_URL, PORT (0 = any; the chosen port is printed as `listening <port>`),
 * BENCH_ROW_ID (accounts.id to select), BENCH_REDIS_KEY (key to GET).
 */
import uWS from 'uWebSockets.js';
import type { us_listen_socket } from 'uWebSockets.js';
import postgres from 'postgres';
import { Redis } from 'ioredis';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};

const rowId = env('BENCH_ROW_ID');
const redisKey = env('BENCH_REDIS_KEY');
const sql = postgres(env('DATABASE_URL'), { max: 50, prepare: true, idle_timeout: 30, onnotice: () => {} });
const redis = new Redis(env('REDIS_URL'), { enableAutoPipelining: true });

const app = uWS.App();
app.get('/baseline', (res) => {
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  void (async () => {
    try {
      const tag = await redis.get(redisKey);
      const [row] = await sql<{ id: string; name: string; slug: string }[]>`SELECT id, name, slug FROM accounts WHERE id = ${rowId}`;
      if (aborted) return;
      const body = JSON.stringify({ id: row?.id ?? null, name: row?.name ?? null, slug: row?.slug ?? null, tag });
      res.cork(() => {
        res.writeStatus('200 OK').writeHeader('Content-Type', 'application/json; charset=utf-8').end(body);
      });
    } catch (err) {
      if (aborted) return;
      res.cork(() => {
        res.writeStatus('500 Internal Server Error').end(String(err));
      });
    }
  })();
});

let listenSocket: us_listen_socket | null = null;
app.listen('127.0.0.1', Number(process.env.PORT ?? 0), (sock) => {
  if (!sock) {
    process.stderr.write('baseline: could not listen\n');
    process.exit(1);
  }
  listenSocket = sock;
  process.stdout.write(`listening ${uWS.us_socket_local_port(sock as unknown as uWS.us_socket)}\n`);
});

const stop = async () => {
  if (listenSocket) uWS.us_listen_socket_close(listenSocket);
  app.close();
  await Promise.allSettled([sql.end({ timeout: 2 }), redis.quit()]);
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
