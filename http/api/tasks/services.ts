import type { Kernel } from '../../../runtime/kernel.ts';
import { Gauge } from '../../../runtime/metrics.ts';
import { Board } from '../../../runtime/tasks/board.ts';
import { CommitGraphKeeper } from '../../../runtime/tasks/commit-graph.ts';
import { GitSpawner } from '../../../runtime/tasks/git-spawner.ts';
import { RefObserver } from '../../../runtime/tasks/refs.ts';
import { ManualAgent } from '../../../workers/tasks/agents/manual.ts';
import { ModelAgent } from '../../../workers/tasks/agents/model.ts';
import { modelChooser } from '../../../workers/tasks/agents/select.ts';
import { TaskRunExecutor } from '../../../workers/tasks/executor.ts';

/**
 * The per-process state of the tasks families: the board cache (derived statuses) and the task-run executor, on one
 * git helper process and one set of ref watches. Created by the composition root (compose.ts) for each application,
 * so two servers in one test process never share it, and closed with it.
 */
export interface TaskServices {
  board: Board;
  executor: TaskRunExecutor;
  /**
   * Stops the executor (executing runs get `graceMs` to finish, then fail with a reason), the ref watches, the
   * background commit-graph writes and the git helper.
   */
  close(graceMs?: number): Promise<void>;
}

export function createTaskServices(kernel: Pick<Kernel, 'sql' | 'log' | 'config' | 'metrics' | 'envCipher'>): TaskServices {
  const spawner = new GitSpawner();
  const keeper = kernel.config.TAKOS_COMMIT_GRAPH ? new CommitGraphKeeper(spawner) : null;
  const refs = new RefObserver(256, spawner, keeper);
  const chooseModel = modelChooser(kernel.sql, kernel.envCipher, kernel.log);
  const executor = new TaskRunExecutor({
    sql: kernel.sql,
    log: kernel.log,
    dataDir: kernel.config.dataDir,
    refs,
    concurrency: kernel.config.TAKOS_TASK_RUN_CONCURRENCY,
    heartbeatMs: kernel.config.TAKOS_TASK_RUN_HEARTBEAT_MS,
    agentFor: (ctx) => (ctx.run.agent === 'manual' ? new ManualAgent(ctx.input.edits ?? []) : new ModelAgent(chooseModel)),
  });
  kernel.metrics.register(new Gauge('takos_task_runs_active', 'task runs held by this process (waiting for a slot or executing)', () => executor.activeCount));
  return {
    board: new Board(kernel.sql, refs),
    executor,
    async close(graceMs) {
      await executor.stop(graceMs);
      refs.close();
      // A commit-graph write is git's own (lock file, atomic rename); waiting for it keeps the helper's stdin open
      // until git is done instead of leaving a write behind a closed server.
      await keeper?.settled();
      spawner.close();
    },
  };
}
