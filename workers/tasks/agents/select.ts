import type { Sql } from '../../../runtime/db.ts';
import type { Logger } from '../../../runtime/log.ts';
import type { EnvCipher } from '../../../runtime/secrets/env-cipher.ts';
import { loadSpaceEnv } from '../../../runtime/secrets/space-env.ts';
import { createModelClient, loadModelConfig, selectModel, type ModelConfig } from '../../runs/model/index.ts';
import type { AgentTask } from '../types.ts';
import type { ChooseModel } from './model.ts';

/**
 * Model choice for the model agent, by the run worker's rules (workers/runs/model/select.ts): the run request's
 * model, else the space's ai_model/ai_provider, else the server default; keys from the space's common-env before the
 * server's; the demo model when no key is configured.
 * The model config is read from the environment on first use (an invalid one fails the run with its message).
 */
export function modelChooser(sql: Sql, cipher: EnvCipher, log: Logger, env: Record<string, string | undefined> = process.env): ChooseModel {
  let config: ModelConfig | null = null;
  return async (task: AgentTask) => {
    config ??= loadModelConfig(env);
    const [space] = await sql<{ ai_provider: string; ai_model: string }[]>`SELECT ai_provider, ai_model FROM accounts WHERE id = ${task.spaceId}`;
    const sel = selectModel({ requestedModel: task.model, spaceProvider: space?.ai_provider ?? null, spaceModel: space?.ai_model ?? null, config, commonEnv: await loadSpaceEnv(sql, cipher, task.spaceId, log) });
    return { client: createModelClient(sel, config), model: sel.model, note: sel.note };
  };
}
