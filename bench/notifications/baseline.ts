/**
 * Baseline of the notification latency bench: a bare uWebSockets.js server holding SSE responses, subscribed to one
 * Redis channel (ioredis SUBSCRIBE); each message (a JSON array of stream events, the shape the project's tail
 * publishes) is rendered as the project's SSE frames and written to every response inside `res.cork`, from the
 * Redis callback (perf/ceilings.md: the fast way). No auth, no Postgres, no actor: what a Redis publish -> SSE write
 * costs at least on this machine.
 *
 * Env: REDIS_URL, BENCH_CHANNEL, PORT.
 */
import uWS from 'uWebSockets.js';
import type { HttpResponse } from 'uWebSockets.js';
import { Redis } from 'ioredis';

const redisUrl = process.env.REDIS_URL;
const channel = process.env.BENCH_CHANNEL;
if (!redisUrl || !channel) throw new Error('REDIS_URL and BENCH_CHANNEL are required');

const open = new Set<HttpResponse>();
const app = uWS.App();
app.get('/health', (res) => {
  res.end('ok');
});
app.get('/sse', (res) => {
  open.add(res);
  res.onAborted(() => open.delete(res));
  res.cork(() => {
    res.writeStatus('200 OK');
    res.writeHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.writeHeader('Cache-Control', 'no-cache, no-transform');
    res.write(': connected\n\n');
  });
});

const sub = new Redis(redisUrl);
await sub.subscribe(channel);
sub.on('message', (_ch: string, msg: string) => {
  const events = JSON.parse(msg) as Array<{ id: number; type: string; data: unknown }>;
  const frame = events.map((e) => `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`).join('');
  for (const res of open) res.cork(() => res.write(frame));
});

app.listen('127.0.0.1', Number(process.env.PORT ?? 0), (s) => {
  if (!s) throw new Error('listen failed');
  process.stdout.write(`listening ${uWS.us_socket_local_port(s)}\n`);
});
