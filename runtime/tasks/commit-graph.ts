import type { GitSpawner } from './git-spawner.ts';

/**
 * Keeps git's commit-graph file current in the project repositories the board reads: the file `git gc` and
 * `git maintenance` write (objects/info/commit-graphs/), which gives git each commit's parents and generation number
 * without parsing the object. The board's incremental reads ask git ancestry questions (`merge-base --is-ancestor`,
 * `rev-list old...new`, refs.ts); without the file git parses every commit it walks from the pack, and a base branch
 * holding a 1,000-parent merge made each question cost ~10 ms of git CPU; with it, ~1-3 ms (bench/tasks/README.md).
 *
 * `write --reachable --split` adds a layer for the commits not in the graph yet (git merges layers as they grow), so
 * a refresh costs about a ref listing. It runs after a full ref read (refs.ts), at most once per `intervalMs` per
 * repository, in the background: no request waits for it, and a failure (a read-only repository, a concurrent
 * `git gc` holding the lock) only means git walks without it until the next refresh. Commits made since the last
 * refresh are parsed from their objects as before; their ancestors come from the graph.
 *
 * Off with TAKOS_COMMIT_GRAPH=false (a repository whose owner does not want the server writing under .git/objects).
 */
export class CommitGraphKeeper {
  private readonly lastStart = new Map<string, number>();
  private readonly running = new Map<string, Promise<void>>();
  /** Refreshes started and failed (tests, diagnostics). */
  readonly stats = { started: 0, failed: 0 };

  constructor(
    private readonly spawner: GitSpawner,
    private readonly intervalMs = 5 * 60_000,
    private readonly maxRepos = 256,
  ) {}

  /** Called with a repository's common dir (the key) and a path git can run in. */
  refresh(commonDir: string, repoPath: string): Promise<void> | null {
    if (this.running.has(commonDir)) return null;
    const last = this.lastStart.get(commonDir);
    if (last !== undefined && Date.now() - last < this.intervalMs) return null;
    this.lastStart.delete(commonDir);
    if (this.lastStart.size >= this.maxRepos) this.lastStart.delete(this.lastStart.keys().next().value!);
    this.lastStart.set(commonDir, Date.now());
    this.stats.started++;
    const p = this.spawner
      .run(repoPath, ['commit-graph', 'write', '--reachable', '--split', '--no-progress'])
      .then(
        () => undefined,
        () => {
          this.stats.failed++;
        },
      )
      .finally(() => this.running.delete(commonDir));
    this.running.set(commonDir, p);
    return p;
  }

  /** Resolves when every refresh under way has ended (tests; a closing server need not wait: git finishes alone). */
  async settled(): Promise<void> {
    await Promise.all(this.running.values());
  }
}
