import { Gauge } from '../../../runtime/metrics.ts';
import { Board } from '../../../runtime/tasks/board.ts';
import { CommitGraphKeeper } from '../../../runtime/tasks/commit-graph.ts';
import { GitSpawner } from '../../../runtime/tasks/git-spawner.ts';
import { RefObserver } from '../../../runtime/tasks/refs.ts';
import { ManualAgent } from '../../../workers/tasks/agents/manual.ts';
import { ModelAgent } from '../../../workers/tasks/agents/model.ts';
import { modelChooser } from '../../../workers/tasks/agents/select.ts';
import { TaskRunExecutor } from '../../../workers/tasks/executor.ts';
import type { AppDeps } from '../../deps.ts';

/**
 * The per-process state of the tasks families: the board cache (derived statuses) and the task-run executor. Kept
 * per kernel (a WeakMap keyed by the deps object, created on first use), so two servers in one test process never
 * share it; AppDeps stays as the foundation defined it.
 */
export interface TaskServices {
  board: Board;
  executor: TaskRunExecutor;
}

const registry = new WeakMap<AppDeps, TaskServices>();

export function taskServices(deps: AppDeps): TaskServices {
  let s = registry.get(deps);
  if (!s) {
    const spawner = new GitSpawner();
    const refs = new RefObserver(256, spawner, deps.config.TAKOS_COMMIT_GRAPH ? new CommitGraphKeeper(spawner) : null);
    const chooseModel = modelChooser(deps.sql);
    s = {
      board: new Board(deps.sql, refs),
      executor: new TaskRunExecutor({
        sql: deps.sql,
        log: deps.log,
        dataDir: deps.config.dataDir,
        refs,
        concurrency: deps.config.TAKOS_TASK_RUN_CONCURRENCY,
        heartbeatMs: deps.config.TAKOS_TASK_RUN_HEARTBEAT_MS,
        agentFor: (ctx) => (ctx.run.agent === 'manual' ? new ManualAgent(ctx.input.edits ?? []) : new ModelAgent(chooseModel)),
      }),
    };
    const executor = s.executor;
    deps.metrics.register(new Gauge('takos_task_runs_active', 'task runs held by this process (waiting for a slot or executing)', () => executor.activeCount));
    registry.set(deps, s);
  }
  return s;
}
