import type { ActorSystem } from '../../runtime/actors/index.ts';
import type { Kernel } from '../../runtime/kernel.ts';
import { IsoGitWorkingCopyStore } from '../../workers/sessions/iso-store.ts';
import { reapWorkingCopies } from '../../workers/sessions/reaper.ts';
import type { WorkingCopyStore } from '../../workers/sessions/store.ts';
import { sessionKind } from './kind.ts';

/**
 * Registers the session kind on a process's actor system (before start) and builds the working-copy store the
 * session routes use. `afterStart` removes working copies left behind by a crash (hosting processes only).
 */
export function wireSessions(kernel: Kernel, actors: ActorSystem): { workingCopies: WorkingCopyStore; afterStart(hosting: boolean): Promise<void> } {
  actors.register(sessionKind);
  const workingCopies = new IsoGitWorkingCopyStore(kernel.config.dataDir);
  return {
    workingCopies,
    async afterStart(hosting) {
      if (!hosting) return;
      await reapWorkingCopies(kernel.sql, workingCopies, kernel.log).catch((err: unknown) => kernel.log.warn({ err }, 'reaping session working copies failed'));
    },
  };
}
