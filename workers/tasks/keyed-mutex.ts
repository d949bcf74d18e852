/**
 * Runs critical sections one at a time per key, in arrival order. Used for `git worktree add/prune` on one
 * repository, which take repository-wide locks that fail (rather than wait) when taken concurrently. Only
 * serialises within this process; across processes git's own lock refusal fails the run with git's message.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await next;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
