import type { AgentOutput, FileEdit, TaskAgent } from '../types.ts';

/** The scripted agent: the edits were given with the run request (`POST /api/tasks/:id/runs {edits}`). */
export class ManualAgent implements TaskAgent {
  readonly name = 'manual';
  constructor(private readonly edits: FileEdit[]) {}

  async produceEdits(): Promise<AgentOutput> {
    return { edits: this.edits, rejected: [] };
  }
}
