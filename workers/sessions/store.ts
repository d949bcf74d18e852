/**
 * Where a runtime session's files live. The session routes use only this interface, so git hosting can replace the
 * isomorphic-git implementation (iso-store.ts: a bare repository per space repository under the data folder) with
 * its own repositories without touching the session actor or the routes.
 */
export interface RepoRef {
  id: string;
  name: string;
  defaultBranch: string;
}

export interface OpenRequest {
  sessionId: string;
  repo: RepoRef;
  /** Created from the default branch's head when it does not exist yet. */
  branch: string;
}

export interface OpenedWorkingCopy {
  /** The commit the working copy was checked out at. */
  baseCommit: string;
  fileCount: number;
  sessionDir: string;
  /** The checkout itself: a git work tree (with a shallow `.git`), for the session runtime to work in. */
  workDir: string;
  branch: string;
  /** The branch did not exist and was created from the default branch. */
  createdBranch: boolean;
}

export interface CommitRequest {
  sessionId: string;
  repo: RepoRef;
  branch: string;
  baseCommit: string;
  message: string;
  author: { name: string; email: string };
  /** Default: the author. */
  committer?: { name: string; email: string };
}

export interface CommitResult {
  /** False when the working tree had nothing to add to the branch. */
  committed: boolean;
  commit: string | null;
  /** The branch head the commit was made on (the base, or a newer head when the branch moved meanwhile). */
  parent: string;
  branch: string;
  /** Paths added, changed or removed by the commit. */
  files: Array<{ path: string; change: 'added' | 'modified' | 'deleted' }>;
  /** The branch had moved since the session's base; the session's changes were applied on top of it. */
  rebased: boolean;
}

export interface WorkingCopyStore {
  /** Builds the working copy of a session (replacing any leftover of the same session). */
  open(req: OpenRequest): Promise<OpenedWorkingCopy>;
  /**
   * Writes the working tree back to the branch as one commit. Fails with 409 CONFLICT when the branch changed the
   * same paths differently since `baseCommit` (nothing is written then, and the working copy is kept).
   */
  commit(req: CommitRequest): Promise<CommitResult>;
  /** Removes the working copy (idempotent). */
  drop(sessionId: string): Promise<void>;
  exists(sessionId: string): Promise<boolean>;
  /** Ids of the sessions that have a working copy here (for reaping leftovers). */
  list(): Promise<string[]>;
}
