import type { Sql } from '../../runtime/db.ts';
import type { Logger } from '../../runtime/log.ts';
import type { RefObserver } from '../../runtime/tasks/refs.ts';
import { applyEdits } from './apply-edits.ts';
import { collectChanges, commitPaths } from './changes.ts';
import { KeyedMutex } from './keyed-mutex.ts';
import { failUnfinished, finishRun, heartbeat, loadRunContext, markRunning, recordBranch, type RunContext } from './store.ts';
import type { TaskAgent } from './types.ts';
import { cleanWorktree, prepareWorktree, type PreparedWorktree } from './worktree.ts';

/**
 * Executes task runs in the process that accepted them.
 *
 *   queued (waiting for one of `concurrency` slots) -> running (worktree on the task branch, agent edits applied,
 *   in-scope changes committed, the rest rejected, worktree cleaned) -> completed | failed.
 *
 * Cancellation: POST /api/tasks/:id/cancel sets the run `cancelled` in the database and, when it lands on this
 * process, aborts it at once; on another process, the heartbeat (every `heartbeatMs`) finds the run no longer live
 * and aborts it. The abort reaches the model call and any git child process; the worktree is cleaned and nothing
 * more is written. A commit already made stays on the branch.
 *
 * Failure modes: an error in any step fails the run with its message (the worktree is cleaned). A process that
 * dies leaves its runs queued/running with a heartbeat that goes stale: after 30 s they count as failed for the
 * task's status (derive.ts), and the next run start marks them failed for good. Nothing is retried automatically:
 * a run has side effects on the branch, and starting another is one request away.
 *
 * Stopping (a server closing, stop()): runs still waiting for a slot are failed at once, executing ones get a grace
 * period to finish and are then aborted and failed, with a reason saying the server stopped, instead of going stale.
 */
export interface ExecutorDeps {
  sql: Sql;
  log: Logger;
  dataDir: string;
  refs: RefObserver;
  agentFor(ctx: RunContext): TaskAgent;
  /** Runs at once per process; git and the model dominate, two keep a 2-core box responsive. */
  concurrency?: number;
  heartbeatMs?: number;
}

const MAX_ERROR = 2_000;
const STOPPED_BEFORE = 'The server stopped before the run started';

export class TaskRunExecutor {
  private readonly active = new Map<string, AbortController>();
  private readonly pending = new Set<Promise<void>>();
  private readonly waiting: Array<() => void> = [];
  private readonly repoLocks = new KeyedMutex();
  private running = 0;
  /** Runs past acquire(): executing, not waiting for a slot. */
  private readonly executing = new Set<string>();
  private stopping = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: ExecutorDeps) {}

  /** Starts executing a queued run in the background. */
  start(runId: string): void {
    if (this.stopping) {
      void failUnfinished(this.deps.sql, [runId], STOPPED_BEFORE).catch((err: unknown) => this.deps.log.warn({ err, runId }, 'could not fail a task run refused while stopping'));
      return;
    }
    const ac = new AbortController();
    this.active.set(runId, ac);
    const p: Promise<void> = this.execute(runId, ac.signal)
      .catch((err: unknown) => this.deps.log.error({ err, runId }, 'task run executor error'))
      .finally(() => {
        this.active.delete(runId);
        this.pending.delete(p);
        if (this.active.size === 0 && this.timer) {
          clearInterval(this.timer);
          this.timer = null;
        }
      });
    this.pending.add(p);
    this.timer ??= setInterval(() => void this.beat(), this.deps.heartbeatMs ?? 5_000);
    this.timer.unref();
  }

  /** Aborts runs executing here (the database already says cancelled). */
  cancel(runIds: string[]): void {
    for (const id of runIds) this.active.get(id)?.abort(new Error('cancelled'));
  }

  /** Runs this process holds (queued for a slot or executing), for the takos_task_runs_active gauge. */
  get activeCount(): number {
    return this.pending.size;
  }

  /** Resolves when every run started here has finished. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /**
   * Takes no new runs; fails the runs waiting for a slot; lets executing runs finish for up to `graceMs`, then aborts
   * and fails them. Resolves when nothing of this executor runs any more.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    const waiting = [...this.active.keys()].filter((id) => !this.executing.has(id));
    for (const id of waiting) this.active.get(id)?.abort(new Error('stopping'));
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([
      this.idle().then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
    ]);
    clearTimeout(timer);
    const cut = late ? [...this.executing] : [];
    for (const id of cut) this.active.get(id)?.abort(new Error('stopping'));
    await this.idle();
    await failUnfinished(this.deps.sql, waiting, STOPPED_BEFORE);
    await failUnfinished(this.deps.sql, cut, 'The server stopped during the run');
    // The heartbeat timer stopped with the last run (start()'s finally).
  }

  private async beat(): Promise<void> {
    try {
      const gone = await heartbeat(this.deps.sql, [...this.active.keys()]);
      this.cancel(gone);
    } catch (err) {
      this.deps.log.warn({ err }, 'task run heartbeat failed');
    }
  }

  private async acquire(signal: AbortSignal): Promise<boolean> {
    const limit = this.deps.concurrency ?? 2;
    while (this.running >= limit) {
      if (signal.aborted) return false;
      await new Promise<void>((resolve) => {
        this.waiting.push(resolve);
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
    }
    if (signal.aborted) return false;
    this.running++;
    return true;
  }

  private release(): void {
    this.running--;
    // Wake every waiter: each re-checks the limit, and one woken by its own abort cannot swallow the wake-up.
    for (const wake of this.waiting.splice(0)) wake();
  }

  private async execute(runId: string, signal: AbortSignal): Promise<void> {
    if (!(await this.acquire(signal))) return;
    this.executing.add(runId);
    try {
      const ctx = await loadRunContext(this.deps.sql, runId);
      if (!ctx || signal.aborted || !(await markRunning(this.deps.sql, runId))) return;
      await this.perform(ctx, signal);
    } finally {
      this.executing.delete(runId);
      this.release();
    }
  }

  private async perform(ctx: RunContext, signal: AbortSignal): Promise<void> {
    const { sql, refs, log } = this.deps;
    const { run, project, task } = ctx;
    let wt: PreparedWorktree | null = null;
    try {
      wt = await prepareWorktree(
        { repoPath: project.repo_path, dataDir: this.deps.dataDir, projectId: project.id, taskId: task.id, baseBranch: project.base_branch, signal },
        this.repoLocks,
      );
      await recordBranch(sql, run.id, wt.baseSha, wt.created);
      if (wt.created) refs.invalidate(project.repo_path);
      const agent = this.deps.agentFor(ctx);
      const out = await agent.produceEdits(
        {
          id: task.id, title: task.title, description: task.description, writeScope: run.write_scope,
          instructions: ctx.input.instructions ?? null, spaceId: project.space_id, model: ctx.input.model ?? null,
        },
        wt.dir,
        signal,
      );
      signal.throwIfAborted();
      const writeRejected = await applyEdits(wt.dir, out.edits);
      const changes = await collectChanges(wt.dir, run.write_scope, signal);
      // A model may name paths with NUL characters, which jsonb cannot store: they are reported with U+FFFD.
      const rejected = [...out.rejected, ...writeRejected, ...changes.rejected].map((r) => ({ path: r.path.replaceAll('\0', '\uFFFD'), reason: r.reason }));
      let head = wt.baseSha;
      if (changes.inScope.length > 0) {
        signal.throwIfAborted();
        head = await commitPaths(wt.dir, changes.inScope, commitMessage(ctx, changes.inScope.length, rejected.length), { name: ctx.author.name, email: ctx.author.email ?? `${ctx.author.username}@users.takos.invalid` }, signal);
        refs.invalidate(project.repo_path);
      }
      await cleanWorktree(wt.dir);
      await finishRun(sql, run.id, { status: 'completed', headSha: head, committed: changes.inScope, rejected, error: null });
    } catch (err) {
      if (wt) await cleanWorktree(wt.dir).catch((e: unknown) => log.warn({ err: e, runId: run.id }, 'could not clean task worktree'));
      if (signal.aborted) {
        log.info({ runId: run.id }, 'task run cancelled');
        return;
      }
      const message = (err as Error).message ?? String(err);
      await finishRun(sql, run.id, { status: 'failed', headSha: null, committed: [], rejected: [], error: message.slice(0, MAX_ERROR) });
    }
  }
}

function commitMessage(ctx: RunContext, committed: number, rejected: number): string {
  const lines = [ctx.task.title.split('\n')[0]!.slice(0, 72), '', `Takos task ${ctx.task.id}, run ${ctx.run.id} (${ctx.run.agent} agent, started by ${ctx.author.username}).`];
  lines.push(`${committed} file(s) committed${rejected ? `; ${rejected} change(s) outside write_scope were rejected and not committed` : ''}.`);
  return lines.join('\n');
}
