import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Kernel } from '../../runtime/kernel.ts';
import { sessionGone } from './errors.ts';
import type { BrowserPool } from './pool.ts';
import { toWire, type BrowserCommand, type BrowserReply, type WorkerReport } from './protocol.ts';

/**
 * The `browser` worker kind: one BrowserPool per process, driven through Redis (protocol.ts).
 *  - Heartbeat: every ttl/3 the worker writes its capacity to `browserWorker(id)` with PX = ttl and its deadline to
 *    the `browserWorkers` set. A SIGKILLed worker simply stops writing; the key expires, web processes stop routing
 *    to it, and each of its sessions' actors sees the key missing on its liveness timer and marks itself failed.
 *  - Commands: BRPOP on its own list; each command runs without waiting for the previous one (the pool serialises
 *    calls of one session and queues creates itself), and the reply is published to the sender's channel.
 *  - Start: the pool reaps Chromium trees and user-data-dirs left by a dead worker on the same data root, which is
 *    how a kill -9 gives its capacity back (part 1, reaper.ts).
 * The worker id is new for every process start: a restarted worker never claims to hold the pages of its previous
 * life, so their sessions fail cleanly instead of answering "no such page" forever.
 */
export interface BrowserWorkerHandle {
  id: string;
  pool: BrowserPool;
  close(): Promise<void>;
}

export interface BrowserWorkerOptions {
  id?: string;
  /**
   * Called (from the heartbeat tick) for each session the pool ended as failed on its own (browser or renderer
   * crash), so its record says why before anyone calls it; the pool forgets the session once this resolves.
   */
  onSessionFailed?: (id: string, reason: string, message: string) => Promise<unknown>;
}

export async function startBrowserWorker(kernel: Kernel, pool: BrowserPool, opts: BrowserWorkerOptions = {}): Promise<BrowserWorkerHandle> {
  const id = opts.id ?? `bw-${randomBytes(8).toString('hex')}`;
  const { keys } = kernel;
  const cmd = kernel.redis.cmd;
  const ttl = kernel.config.BROWSER_HEARTBEAT_TTL_MS;
  await pool.start();
  let closing = false;

  const reporting = new Set<string>();
  const reportFailures = () => {
    for (const s of pool.list()) {
      if (s.state !== 'failed' || !s.failure || reporting.has(s.id) || !opts.onSessionFailed) continue;
      reporting.add(s.id);
      void opts
        .onSessionFailed(s.id, s.failure.reason, s.failure.message)
        .then(() => pool.forget(s.id))
        .catch((err: unknown) => kernel.log.warn({ err, session: s.id }, 'reporting a failed browser session failed'))
        .finally(() => reporting.delete(s.id));
    }
  };

  const beat = async () => {
    reportFailures();
    const c = pool.capacity();
    const report: WorkerReport = { workerId: id, used: c.used, max: c.max, queued: c.queued, queueMax: c.queueMax, accepting: c.accepting, at: Date.now() };
    await cmd.multi().set(keys.browserWorker(id), JSON.stringify(report), 'PX', ttl).zadd(keys.browserWorkers, Date.now() + ttl, id).exec();
  };
  await beat();
  const beatTimer = setInterval(() => void beat().catch((err: unknown) => kernel.log.warn({ err }, 'browser worker heartbeat failed')), Math.max(100, Math.floor(ttl / 3)));

  const blocking: Redis = kernel.redis.blocking(`browser-${id}`);
  const inflight = new Set<Promise<void>>();
  const loop = (async () => {
    while (!closing) {
      let popped: [string, string] | null;
      try {
        popped = await blocking.brpop(keys.browserCommands(id), 1);
      } catch (err) {
        if (closing) break;
        kernel.log.warn({ err }, 'browser worker: reading commands failed');
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (!popped) continue;
      const p = handle(JSON.parse(popped[1]) as BrowserCommand).finally(() => inflight.delete(p));
      inflight.add(p);
    }
  })();

  async function handle(c: BrowserCommand): Promise<void> {
    let out: BrowserReply;
    try {
      const { value, bytes } = await run(c);
      out = { rid: c.rid, ok: true, ...(value !== undefined ? { value } : {}), ...(bytes ? { bytes: bytes.toString('base64') } : {}) };
    } catch (err) {
      out = { rid: c.rid, ok: false, error: toWire(err) };
      if (!out.error?.code || out.error.code === 'BAD_GATEWAY') kernel.log.debug({ err, op: c.op }, 'browser command failed');
    }
    await cmd.publish(c.replyTo, JSON.stringify(out));
  }

  async function run(c: BrowserCommand): Promise<{ value?: unknown; bytes?: Buffer }> {
    if (c.op === 'create') {
      const s = await pool.create(c.input, { id: c.sessionId });
      void beat().catch(() => {});
      return { value: { url: s.url } };
    }
    const s = pool.get(c.sessionId);
    if (c.op === 'close') {
      await s?.close();
      pool.forget(c.sessionId);
      void beat().catch(() => {});
      return { value: { closed: true } };
    }
    if (!s) throw sessionGone('The browser worker no longer holds this session', 'not_held');
    switch (c.op) {
      case 'goto':
        return { value: await s.goto(c.input) };
      case 'action':
        return { value: await s.action(c.input) };
      case 'extract':
        return { value: await s.extract(c.input) };
      case 'html':
        return { value: await s.html() };
      case 'screenshot': {
        const png = await s.screenshot(c.input);
        return { value: { width: png.width, height: png.height, truncated: png.truncated }, bytes: png.png };
      }
      case 'pdf':
        return { bytes: await s.pdf(c.input) };
    }
  }

  return {
    id,
    pool,
    async close() {
      closing = true;
      clearInterval(beatTimer);
      await loop;
      await Promise.allSettled([...inflight]);
      await cmd.multi().del(keys.browserWorker(id)).zrem(keys.browserWorkers, id).exec().catch(() => {});
      await pool.close();
    },
  };
}
