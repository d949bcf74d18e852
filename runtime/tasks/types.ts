/** The eight derived statuses (docs/task-status.md), never stored. */
export const TASK_STATUSES = ['open', 'blocked', 'ready', 'running', 'needs_review', 'done', 'failed', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const RUN_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** One observable fact that led to a status; `task_id`/`run_id` point at the task or run the fact is about. */
export interface Reason {
  code: string;
  message: string;
  task_id?: string;
  run_id?: string;
}

export interface DerivedStatus {
  status: TaskStatus;
  reasons: Reason[];
}

/** What derivation needs to know about a task's latest run. */
export interface LatestRunFacts {
  id: string;
  status: RunStatus;
  heartbeatAt: number;
  error: string | null;
  headSha: string | null;
  baseSha: string | null;
}

export interface TaskFacts {
  id: string;
  parentId: string | null;
  title: string;
  cancelledAt: Date | null;
  dependsOn: string[];
  latestRun: LatestRunFacts | null;
  /** base_sha of the task's first run: where its branch forked from base_branch. */
  forkSha: string | null;
}

/** What the repository says about task branches (runtime/tasks/refs.ts). */
export interface RefFacts {
  /** False when git could not be read (repository moved or deleted); `error` says why. */
  available: boolean;
  error: string | null;
  baseSha: string | null;
  /** Branch name (takos/task-<id>) -> tip sha. */
  tips: Map<string, string>;
  /** Task branches whose tip is reachable from base_branch. */
  merged: Set<string>;
  /**
   * Set by an incremental read (refs.ts): the reading it started from, and every branch whose tip or merged-ness
   * differs from it. Readers compare against `from` by identity; the link is dropped from `from` itself, so at
   * most two readings are kept alive by it.
   */
  delta?: { from: RefFacts; branches: string[] } | undefined;
}

/** A dependency that is not done yet and so blocks a task. */
export interface Blocker {
  dep: string;
  /** The ancestor whose dependency this is (children inherit what their ancestors wait for), or null for the task's own. */
  via: string | null;
}

export interface Blockers {
  list: Blocker[];
  /** All dependencies, own and inherited, done or not: zero means "open" rather than "ready". */
  total: number;
}
