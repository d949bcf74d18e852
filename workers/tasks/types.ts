/**
 * The edit source of a task run is pluggable: a TaskAgent looks at the task and its worktree and says which files
 * should have which content. The executor applies the edits, commits what the write scope allows and reports the
 * rest; agents never touch git.
 */
export interface FileEdit {
  /** Repository-relative, `/`-separated. */
  path: string;
  /** The file's complete new content; null deletes the file. */
  content: string | null;
}

export interface RejectedFile {
  path: string;
  reason: string;
}

export interface AgentTask {
  id: string;
  title: string;
  description: string;
  writeScope: string[];
  /** Extra instructions given when the run was started. */
  instructions: string | null;
  spaceId: string;
  /** Model asked for when the run was started, else the space's. */
  model: string | null;
}

export interface AgentOutput {
  edits: FileEdit[];
  /** Edits the agent itself could not turn into files (e.g. a malformed path in a model reply). */
  rejected: RejectedFile[];
}

export interface TaskAgent {
  readonly name: string;
  produceEdits(task: AgentTask, worktreeDir: string, signal: AbortSignal): Promise<AgentOutput>;
}
