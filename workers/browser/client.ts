import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { AppError } from '../../runtime/errors.ts';
import type { Kernel } from '../../runtime/kernel.ts';
import { LIMITS } from './schemas.ts';
import { fromWire, type BrowserOp, type BrowserReply, type WorkerReport } from './protocol.ts';

/**
 * Web-process side of the browser wire (protocol.ts): finds live workers from their heartbeats, sends a command to
 * the worker that holds a page, and waits for the reply on this process's own channel. While a command waits, the
 * target worker's heartbeat is checked every second, so a worker killed mid-command answers 502 within about a
 * second of its heartbeat expiring instead of the caller waiting out the whole timeout.
 */
export interface BrowserResult {
  value: unknown;
  bytes: Buffer | null;
}

interface Pending {
  workerId: string;
  resolve: (r: BrowserResult) => void;
  reject: (e: AppError) => void;
  timer: NodeJS.Timeout;
}

export class BrowserClient {
  readonly id = randomBytes(8).toString('hex');
  private sub: Redis | null = null;
  private subscribing: Promise<void> | null = null;
  private readonly pending = new Map<string, Pending>();
  private watch: NodeJS.Timeout | null = null;

  constructor(private readonly kernel: Kernel) {}

  /** Live workers, best first: accepting, then most free slots, then shortest queue. */
  async workers(): Promise<WorkerReport[]> {
    const { cmd } = this.kernel.redis;
    const k = this.kernel.keys;
    await cmd.zremrangebyscore(k.browserWorkers, '-inf', Date.now() - 60_000);
    const ids = await cmd.zrangebyscore(k.browserWorkers, Date.now(), '+inf');
    if (ids.length === 0) return [];
    const raw = await cmd.mget(ids.map((id) => k.browserWorker(id)));
    const live = raw.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as WorkerReport);
    return live.sort((a, b) => Number(b.accepting) - Number(a.accepting) || b.max - b.used - (a.max - a.used) || a.queued - b.queued);
  }

  async isAlive(workerId: string): Promise<boolean> {
    return (await this.kernel.redis.cmd.exists(this.kernel.keys.browserWorker(workerId))) === 1;
  }

  /** Sends `op` to `workerId` and waits for its answer; worker-side AppErrors are rethrown as they are. */
  async call(workerId: string, op: BrowserOp, sessionId: string, input: unknown, timeoutMs = LIMITS.maxTimeoutMs + 30_000): Promise<BrowserResult> {
    await this.subscribe();
    const rid = randomBytes(8).toString('hex');
    const replyTo = this.kernel.keys.browserReplies(this.id);
    const result = new Promise<BrowserResult>((resolve, reject) => {
      const timer = setTimeout(() => this.settle(rid, new AppError('GATEWAY_TIMEOUT', 'The browser worker did not answer in time', { details: { reason: 'worker_timeout' } })), timeoutMs);
      this.pending.set(rid, { workerId, resolve, reject, timer });
    });
    this.watchWorkers();
    const key = this.kernel.keys.browserCommands(workerId);
    // The list expires with the worker: commands for a dead worker must not pile up forever.
    await this.kernel.redis.cmd.multi().lpush(key, JSON.stringify({ rid, replyTo, op, sessionId, input })).pexpire(key, 10 * 60_000).exec();
    return result;
  }

  private settle(rid: string, outcome: BrowserReply | AppError): void {
    const p = this.pending.get(rid);
    if (!p) return;
    this.pending.delete(rid);
    clearTimeout(p.timer);
    if (outcome instanceof AppError) p.reject(outcome);
    else if (outcome.ok) p.resolve({ value: outcome.value, bytes: outcome.bytes ? Buffer.from(outcome.bytes, 'base64') : null });
    else p.reject(fromWire(outcome.error!));
  }

  private async subscribe(): Promise<void> {
    this.subscribing ??= (async () => {
      this.sub = this.kernel.redis.blocking(`browser-replies-${this.id}`);
      this.sub.on('message', (_ch: string, msg: string) => {
        const r = JSON.parse(msg) as BrowserReply;
        this.settle(r.rid, r);
      });
      await this.sub.subscribe(this.kernel.keys.browserReplies(this.id));
    })();
    return this.subscribing;
  }

  private watchWorkers(): void {
    if (this.watch) return;
    this.watch = setInterval(() => {
      if (this.pending.size === 0) {
        clearInterval(this.watch!);
        this.watch = null;
        return;
      }
      const byWorker = new Set([...this.pending.values()].map((p) => p.workerId));
      for (const w of byWorker) {
        void this.isAlive(w).then((alive) => {
          if (alive) return;
          for (const [rid, p] of this.pending) {
            if (p.workerId === w) this.settle(rid, new AppError('BAD_GATEWAY', 'The browser worker holding this session stopped', { details: { reason: 'worker_lost' } }));
          }
        }, () => {});
      }
    }, 1_000);
    this.watch.unref();
  }

  close(): void {
    if (this.watch) clearInterval(this.watch);
    for (const rid of [...this.pending.keys()]) this.settle(rid, new AppError('SERVICE_UNAVAILABLE', 'Server is shutting down'));
  }
}
