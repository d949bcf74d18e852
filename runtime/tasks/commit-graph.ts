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
 * repository, and after every `commitsPerRefresh` new commits the incremental reads saw, in the background: no request waits for it, and a failure (a read-only repository, a concurrent
 * `git gc` holding the lock) only means git walks without it until the next refresh. Commits made since the last
 * refresh are parsed from their objects as before; their ancestors come from the graph.
 *
 * Off with TAKOS_COMMIT_GRAPH=false (a repository whose owner does not want the server writing under .git/objects).
 */
export class CommitGraphKeeper {
  /** Per repository: when the last refresh started, and how many new commits were seen since. */
  private readonly repos = new Map<string, { lastStart: number; seen: number }>();
  private readonly running = new Map<string, Promise<void>>();
  /** Refreshes started and failed (tests, diagnostics). */
  readonly stats = { started: 0, failed: 0 };

  constructor(
    private readonly spawner: GitSpawner,
    private readonly intervalMs = 5 * 60_000,
    /**
     * New commits (seen by incremental reads) after which a refresh runs without waiting for the interval: each one
     * not in the graph is parsed from its object on every walk past it (~20-40 us), so a busy base branch would
     * otherwise make every ancestry question dearer until the next full read.
     */
    private readonly commitsPerRefresh = 64,
    private readonly maxRepos = 256,
  ) {}

  /** After a full read: refreshes unless one ran within the interval. */
  refresh(commonDir: string, repoPath: string): Promise<void> | null {
    const r = this.repos.get(commonDir);
    if (r !== undefined && Date.now() - r.lastStart < this.intervalMs) return null;
    return this.start(commonDir, repoPath);
  }

  /** After an incremental read that saw `count` new commits (a base branch that moved, task branches that did). */
  noteCommits(commonDir: string, repoPath: string, count: number): Promise<void> | null {
    const r = this.repos.get(commonDir);
    if (r === undefined) return null;
    r.seen += count;
    return r.seen >= this.commitsPerRefresh ? this.start(commonDir, repoPath) : null;
  }

  private start(commonDir: string, repoPath: string): Promise<void> | null {
    if (this.running.has(commonDir)) return null;
    this.repos.delete(commonDir);
    if (this.repos.size >= this.maxRepos) this.repos.delete(this.repos.keys().next().value!);
    this.repos.set(commonDir, { lastStart: Date.now(), seen: 0 });
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

  /** Resolves when every refresh under way has ended (tests, and a closing server: its git helper exits once its stdin ends). */
  async settled(): Promise<void> {
    await Promise.all(this.running.values());
  }
}
