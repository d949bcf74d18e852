/**
 * Admission control in front of the database pool: at most `max` handlers run at once, the rest wait in FIFO order.
 * postgres.js degrades when more queries are in flight than it has connections (perf/ceilings.md), so queueing
 * here, where waiting is cheap, keeps throughput flat under overload.
 */
export class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly max: number) {}

  acquire(): Promise<void> | void {
    if (this.active < this.max) {
      this.active++;
      return;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }

  get inUse(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }
}
