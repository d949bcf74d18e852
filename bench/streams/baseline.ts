/**
 * The raw fan-out baseline of bench/streams: a bare uWebSockets.js server that receives event batches from one Redis
 * channel (ioredis SUBSCRIBE, the same JSON arrays the project's append-tail script publishes) and delivers them
 * with nothing on top: each WebSocket subscriber is on one uWS topic and every event is one `app.publish`; every
 * SSE response is kept in a Set and each batch is rendered once and written to each response inside `res.cork`,
 * from the Redis callback (perf/ceilings.md: the fast way). Frames are byte for byte the project's (http/stream/*),
 * so the same client counts and checks both.
 *
 * It shares no code with the project on purpose: it is what delivering these frames costs at least.
 *
 * Env: REDIS_URL, BENCH_CHANNEL, PORT (0 = any; prints `listening <port>`).
 */
import uWS from 'uWebSockets.js';
import type { HttpResponse, us_listen_socket } from 'uWebSockets.js';
import { Redis } from 'ioredis';

interface Ev {
  id: number;
  type: string;
  data: unknown;
  created_at: string;
}

const redisUrl = process.env.REDIS_URL;
const channel = process.env.BENCH_CHANNEL;
if (!redisUrl || !channel) throw new Error('REDIS_URL and BENCH_CHANNEL are required');

const TOPIC = 'run';
const sse = new Set<HttpResponse>();
const app = uWS.App();

app.get('/health', (res) => {
  res.end('ok');
});

app.get('/sse', (res) => {
  sse.add(res);
  res.onAborted(() => sse.delete(res));
  res.cork(() => {
    res.writeStatus('200 OK');
    res.writeHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.writeHeader('Cache-Control', 'no-cache, no-transform');
    res.write(': connected\n\n');
  });
});

app.ws('/ws', {
  maxPayloadLength: 64 * 1024,
  idleTimeout: 120,
  sendPingsAutomatically: true,
  maxBackpressure: 1024 * 1024,
  open: (ws) => {
    ws.subscribe(TOPIC);
    ws.send(JSON.stringify({ type: 'connected', data: { connectionId: 'baseline', lastEventId: 0 } }), false, false);
  },
});

const sub = new Redis(redisUrl);
await sub.subscribe(channel);
sub.on('message', (_ch: string, msg: string) => {
  const events = JSON.parse(msg) as Ev[];
  let frame = '';
  for (const e of events) {
    frame += `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`;
    app.publish(TOPIC, JSON.stringify({ type: e.type, data: e.data, eventId: e.id, event_id: String(e.id), created_at: e.created_at }), false, false);
  }
  for (const res of sse) res.cork(() => res.write(frame));
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

const stop = () => {
  if (listenSocket) uWS.us_listen_socket_close(listenSocket);
  app.close();
  sub.disconnect();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
