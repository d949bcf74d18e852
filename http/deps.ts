import type { Queue } from 'bullmq';
import type { Kernel } from '../runtime/kernel.ts';
import type { ActorSystem } from '../runtime/actors/index.ts';
import type { RunJobData } from '../workers/runs/queue.ts';
import type { WorkingCopyStore } from '../workers/sessions/store.ts';
import type { BrowserClient } from '../workers/browser/client.ts';
import type { TaskServices } from './api/tasks/services.ts';

/**
 * What handlers receive as `c.deps`: the process kernel plus the application services composed on it
 * (compose.ts). A handler's needs are visible from its imports, and a test builds the same object for real.
 */
export interface AppDeps extends Kernel {
  actors: ActorSystem;
  queues: { runs: Queue<RunJobData> };
  /** Runtime sessions' working copies (workers/sessions). */
  workingCopies: WorkingCopyStore;
  /** Sends commands to the browser workers holding pages (workers/browser/client.ts). */
  browser: BrowserClient;
  /** Projects/Tasks: the board cache and the task-run executor (http/api/tasks/services.ts). */
  tasks: TaskServices;
}
