/**
 * Counting semaphore. Postgres work of the actor host goes through one so that a burst of activations cannot put
 * more queries in flight than the pool serves well (perf/ceilings.md: postgres.js throughput decays when in-flight
 * queries exceed the pool size).
 */
export class Gate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
