import type { ActorSystem } from '../../../runtime/actors/index.ts';
import type { Kernel } from '../../../runtime/kernel.ts';
import { RUN_KIND } from '../../../actors/run/kind.ts';
import { settleEndedRuns } from './plan.ts';

/** After each commit of runs: a planning run that ended writes its plan into its task (plan.ts). */
export function wireAgentTasks(kernel: Kernel, actors: ActorSystem): void {
  actors.onCommitted(RUN_KIND, (batch) => settleEndedRuns(kernel.sql, kernel.log, batch.actors));
}
