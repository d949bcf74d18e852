/**
 * The composition root: everything a process runs on top of its kernel, assembled in one place so that `web.ts`,
 * `worker.ts` and the tests build exactly the same application.
 *
 *   kernel (pools, auth, streams) -> actor system (kinds registered, commit listeners) -> queues
 *
 * Web processes host actor partitions (`hosting: true`); worker processes only send to actors.
 */
import type { Kernel } from './runtime/kernel.ts';
import { ActorSystem, type ActorSystemOptions } from './runtime/actors/index.ts';
import type { AppDeps } from './http/deps.ts';
import { RUN_KIND, runKind } from './actors/run/kind.ts';
import { createRunsQueue } from './workers/runs/queue.ts';
import { runEventHistory } from './http/api/runs/runtime.ts';
import { wireSessions } from './actors/session/wiring.ts';
import { wireAgentTasks } from './http/api/agent-tasks/wiring.ts';
import { wireNotifications } from './actors/inbox/wiring.ts';
import { wireBrowserSessions } from './actors/browser-session/wiring.ts';
import { createTaskServices } from './http/api/tasks/services.ts';

export interface ComposedApp {
  deps: AppDeps;
  /** Stops task runs, the actor system (handing partitions over) and queues; the kernel is closed by its owner. */
  stop(): Promise<void>;
}

export async function composeApp(kernel: Kernel, opts: { hosting: boolean; actors?: ActorSystemOptions }): Promise<ComposedApp> {
  const actors = new ActorSystem(kernel, { hosting: opts.hosting, ...opts.actors });
  actors.register(runKind);
  const sessions = wireSessions(kernel, actors);
  wireAgentTasks(kernel, actors);
  wireNotifications(kernel, actors);
  const browser = wireBrowserSessions(kernel, actors);
  const runs = createRunsQueue(kernel.redis.blocking('bullmq-queue-runs'), kernel.keys.bullPrefix);

  kernel.streams.hub.registerHistory(RUN_KIND, runEventHistory(kernel.sql));
  // After each commit of runs: events to the Redis tail + fan-out, and stale runs back on the queue.
  actors.onCommitted(RUN_KIND, async (batch) => {
    await Promise.all(
      batch.actors.map(async (a) => {
        const state = a.state as { requeue?: boolean; attempts: number };
        if (a.events.length > 0) await kernel.streams.publishCommitted(RUN_KIND, a.id, a.events as never);
        if (state.requeue) await runs.add('run', { runId: a.id, model: null }, { jobId: `${a.id}:r${state.attempts}` });
      }),
    );
  });
  await actors.start();
  await sessions.afterStart(opts.hosting);
  const tasks = createTaskServices(kernel);
  const deps: AppDeps = { ...kernel, actors, queues: { runs }, workingCopies: sessions.workingCopies, browser, tasks };
  return {
    deps,
    async stop() {
      browser.close();
      await tasks.close();
      await actors.stop();
      await runs.close();
    },
  };
}
