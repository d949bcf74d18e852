import type { AppError } from '../../runtime/errors.ts';
import { queueFull } from './errors.ts';

/**
 * Session slots and the bounded wait queue in front of them.
 *
 * A caller gets a slot at once when fewer than `max` are taken and `blocker()` says nothing is in the way (no
 * browser up, machine over the load threshold); otherwise it waits in FIFO order, at most `queueMax` callers deep
 * and at most `queueTimeoutMs` long. Past either limit it gets a 429 with a Retry-After hint. Waiters are admitted
 * by `pump()`, which runs on every release, when a browser comes up, and on a short timer while anyone waits (load
 * can fall without any event).
 */

export type Blocker = 'overloaded' | 'no_browser' | null;

export interface AdmissionOptions {
  max: number;
  queueMax: number;
  queueTimeoutMs: number;
  blocker: () => Blocker;
  retryAfterSeconds: (waiting: number) => number;
  pollMs?: number;
}

interface Waiter {
  resolve: () => void;
  reject: (e: AppError) => void;
  timer: NodeJS.Timeout;
}

export class Admission {
  used = 0;
  private readonly waiters: Waiter[] = [];
  private poll: NodeJS.Timeout | null = null;

  constructor(private readonly o: AdmissionOptions) {}

  get queued(): number {
    return this.waiters.length;
  }
  get max(): number {
    return this.o.max;
  }
  get queueMax(): number {
    return this.o.queueMax;
  }

  /** Why a new session could not start right now (null: it could). */
  refusal(): 'full' | Exclude<Blocker, null> | null {
    if (this.used >= this.o.max) return 'full';
    return this.o.blocker();
  }

  acquire(): Promise<void> {
    if (this.waiters.length === 0 && this.refusal() === null) {
      this.used++;
      return Promise.resolve();
    }
    if (this.waiters.length >= this.o.queueMax) {
      const why = this.refusal() === 'overloaded' ? 'overloaded' : 'queue_full';
      const msg = why === 'overloaded' ? 'Browser workers are overloaded and the wait queue is full' : 'All browser session slots are taken and the wait queue is full';
      return Promise.reject(queueFull(msg, this.o.retryAfterSeconds(this.waiters.length), why));
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.remove(w);
          const why = this.refusal() === 'overloaded' ? 'overloaded' : 'queue_timeout';
          reject(queueFull(`No browser session slot became free within ${this.o.queueTimeoutMs} ms`, this.o.retryAfterSeconds(this.waiters.length), why));
        }, this.o.queueTimeoutMs),
      };
      this.waiters.push(w);
      this.ensurePoll();
    });
  }

  release(): void {
    this.used = Math.max(0, this.used - 1);
    this.pump();
  }

  pump(): void {
    while (this.waiters.length > 0 && this.refusal() === null) {
      const w = this.waiters.shift()!;
      clearTimeout(w.timer);
      this.used++;
      w.resolve();
    }
    if (this.waiters.length === 0 && this.poll) {
      clearInterval(this.poll);
      this.poll = null;
    }
  }

  rejectAll(err: AppError): void {
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.pump();
  }

  private remove(w: Waiter): void {
    const i = this.waiters.indexOf(w);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  private ensurePoll(): void {
    if (this.poll) return;
    this.poll = setInterval(() => this.pump(), this.o.pollMs ?? 250);
    this.poll.unref();
  }
}
