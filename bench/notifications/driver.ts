/**
 * Load side of the notification latency bench (pinned to the load core with Postgres and Redis). One process both
 * creates notifications and reads the SSE streams, so send and receive times come from one monotonic clock.
 *
 * Targets, one notification at a time (unloaded: each waits for the previous delivery, then the interval):
 *   baseline  PUBLISH of a stream-event batch -> bare uWS SSE (baseline.ts)
 *   project   notify told to the user's inbox actor from a non-hosting actor system, as a worker or another web
 *             process would: Redis stream -> inbox turn -> Postgres commit (fsync) -> tail append + publish -> hub
 *             -> /api/notifications/sse
 *   trigger   POST /api/reminders/:id/trigger over HTTP: reminder turn + commit -> inbox turn + commit -> SSE
 * Latency = SSE bytes naming the notification received - just before the create call.
 *
 * stdin: {"mode","n","warmup","intervalMs"} per line; stdout: {"mode","latenciesMs","toTurnMs","turnToSseMs","timeouts"}
 * per line (the split arrays are empty for the baseline).
 * Env: DATABASE_URL, REDIS_URL, REDIS_PREFIX (the project's), PROJECT_PORT, BASELINE_PORT, BENCH_CHANNEL.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { loadConfig } from '../../runtime/config.ts';
import { createKernel } from '../../runtime/kernel.ts';
import { createLogger } from '../../runtime/log.ts';
import { ActorSystem } from '../../runtime/actors/index.ts';
import { inboxKind } from '../../actors/inbox/kind.ts';
import { createPat, createUser } from '../../runtime/identity/users.ts';
import { newId } from '../../runtime/ids.ts';

const env = process.env;
const projectPort = Number(env.PROJECT_PORT);
const baselinePort = Number(env.BASELINE_PORT);
const channel = env.BENCH_CHANNEL!;
const config = loadConfig({ ...env, LOG_LEVEL: 'warn' });
const kernel = await createKernel(config, { log: createLogger('warn') });
const actors = new ActorSystem(kernel, { hosting: false });
actors.register(inboxKind);
await actors.start();

async function benchUser(name: string) {
  const u = await createUser(kernel.sql, { username: `${name}${newId().slice(0, 6)}`, email: null, name });
  return { id: u.id, token: (await createPat(kernel.sql, u.id, 'bench')).token };
}
const teller = await benchUser('teller');
const triggerer = await benchUser('trigger');

/** A raw SSE reader (no HTTP client library in the measured path); calls `onMarker(seq)` for each marker seen. */
function sse(port: number, path: string, token: string | null, marker: RegExp, onMarker: (seq: number, createdAt: number) => void): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.setNoDelay(true);
    let buf = '';
    let headersDone = false;
    sock.on('data', (b) => {
      buf += b.toString('latin1');
      if (!headersDone) {
        const i = buf.indexOf('\r\n\r\n');
        if (i < 0) return;
        if (!/^HTTP\/1\.1 200/.test(buf)) return reject(new Error(`SSE ${path}: ${buf.split('\r\n')[0]}`));
        headersDone = true;
        buf = buf.slice(i + 4);
        resolve(sock);
      }
      marker.lastIndex = 0;
      let m: RegExpExecArray | null;
      let consumed = 0;
      while ((m = marker.exec(buf)) !== null) {
        onMarker(Number(m[1]), m[2] ? Date.parse(m[2]) : NaN);
        consumed = marker.lastIndex;
      }
      buf = buf.slice(consumed);
      if (buf.length > 65536) buf = buf.slice(-4096);
    });
    sock.on('error', reject);
    sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n${token ? `Authorization: Bearer ${token}\r\n` : ''}\r\n`);
  });
}

const waiting = new Map<string, (t: number, createdAt: number) => void>();
const arrived = (mode: string) => (seq: number, createdAt: number) => {
  const t = performance.now();
  waiting.get(`${mode}:${seq}`)?.(t, createdAt);
};
// The project's markers also capture the notification's created_at: the inbox turn's clock (epoch ms), which splits
// a latency into "create -> inbox turn" and "inbox turn -> SSE bytes" (wall clock, millisecond resolution).
await sse(baselinePort, '/sse', null, /"title":"bench-(\d+)"()/g, arrived('baseline'));
await sse(projectPort, '/api/notifications/sse', teller.token, /"title":"bench-(\d+)".*?"created_at":"([^"]+)"/g, arrived('project'));
await sse(projectPort, '/api/notifications/sse', triggerer.token, /"firing":(\d+).*?"created_at":"([^"]+)"/g, arrived('trigger'));

const api = async (method: string, path: string, body?: unknown) => {
  const r = await fetch(`http://127.0.0.1:${projectPort}${path}`, {
    method,
    headers: { authorization: `Bearer ${triggerer.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return JSON.parse(text) as { id: string };
};
const reminder = await api('POST', '/api/spaces/me/reminders', { content: 'bench', trigger_type: 'condition' });

/** A notification's shape as the project renders it, so the baseline writes frames of the same size. */
function baselineBatch(seq: number): string {
  const created = new Date().toISOString();
  const notification = {
    id: newId() + 'abcd', user_id: teller.id, space_id: null, type: 'reminder.triggered', title: `bench-${seq}`, body: null,
    data: { kind: 'bench' }, stream_id: seq, read_at: null, created_at: created,
  };
  return JSON.stringify([{ id: seq, type: 'notification.new', data: { notification_id: notification.id, notification }, created_at: created }]);
}

const counters: Record<string, number> = { baseline: 0, project: 0, trigger: 0 };
const create: Record<string, (seq: number) => Promise<unknown>> = {
  baseline: (seq) => kernel.redis.cmd.publish(channel, baselineBatch(seq)),
  project: (seq) => actors.tell(inboxKind, teller.id, { type: 'notify', notification: { type: 'reminder.triggered', title: `bench-${seq}`, data: { kind: 'bench' } } }),
  trigger: () => api('POST', `/api/reminders/${reminder.id}/trigger`),
};

async function measure(mode: string, n: number, warmup: number, intervalMs: number) {
  const latencies: number[] = [];
  const toTurn: number[] = [];
  const turnToSse: number[] = [];
  let timeouts = 0;
  for (let i = 0; i < warmup + n; i++) {
    const seq = ++counters[mode]!;
    const got = new Promise<{ t: number; createdAt: number; wall: number }>((resolve) => {
      const timer = setTimeout(() => resolve({ t: -1, createdAt: NaN, wall: 0 }), 5_000);
      waiting.set(`${mode}:${seq}`, (t, createdAt) => {
        clearTimeout(timer);
        resolve({ t, createdAt, wall: Date.now() });
      });
    });
    const wall0 = Date.now();
    const t0 = performance.now();
    await create[mode]!(seq);
    const r = await got;
    waiting.delete(`${mode}:${seq}`);
    if (r.t < 0) timeouts++;
    else if (i >= warmup) {
      latencies.push(r.t - t0);
      if (Number.isFinite(r.createdAt)) {
        toTurn.push(r.createdAt - wall0);
        turnToSse.push(r.wall - r.createdAt);
      }
    }
    const wait = intervalMs - (performance.now() - t0);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  return { mode, latenciesMs: latencies, toTurnMs: toTurn, turnToSseMs: turnToSse, timeouts };
}

process.stdout.write(JSON.stringify({ ready: true }) + '\n');
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'quit') break;
  const cmd = JSON.parse(line) as { mode: string; n: number; warmup: number; intervalMs: number };
  process.stdout.write(JSON.stringify(await measure(cmd.mode, cmd.n, cmd.warmup, cmd.intervalMs)) + '\n');
}
await actors.stop();
await kernel.close();
process.exit(0);
