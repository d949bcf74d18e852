import { collectReply, type ChatMessage, type ModelClient } from '../../runs/model/index.ts';
import { parseFileBlocks, renderFileBlock } from '../file-blocks.ts';
import type { AgentOutput, AgentTask, TaskAgent } from '../types.ts';
import { filesInScope } from './context.ts';

/**
 * The model agent: one chat completion through the run worker's model layer (workers/runs/model), whose reply is
 * parsed for file blocks (file-blocks.ts). The prompt puts the format rules and the files in scope in the system
 * message and the task in the (single) user message. With no provider key configured, the model layer falls back to
 * its demo model, which echoes the user message: a task whose description holds file blocks then gets exactly those.
 */
export interface ModelChoice {
  client: ModelClient;
  model: string;
  note: string | null;
}

export type ChooseModel = (task: AgentTask) => Promise<ModelChoice>;

const MAX_REPLY_TOKENS = 16_000;

export class ModelAgent implements TaskAgent {
  readonly name = 'model';
  /** What the last call used, for the run record. */
  used: { provider: string; model: string; note: string | null } | null = null;

  constructor(private readonly choose: ChooseModel) {}

  async produceEdits(task: AgentTask, worktreeDir: string, signal: AbortSignal): Promise<AgentOutput> {
    const choice = await this.choose(task);
    this.used = { provider: choice.client.provider, model: choice.model, note: choice.note };
    const messages = await buildPrompt(task, worktreeDir, signal);
    const reply = await collectReply(choice.client.streamChat({ model: choice.model, messages, signal, maxTokens: MAX_REPLY_TOKENS }));
    // A reply cut off (finish 'length') mid-file is not applied half-written: parseFileBlocks rejects an open
    // block, and the closed blocks before it are whole files.
    return parseFileBlocks(reply.text);
  }
}

export async function buildPrompt(task: AgentTask, worktreeDir: string, signal: AbortSignal): Promise<ChatMessage[]> {
  const { files, omitted } = await filesInScope(worktreeDir, task.writeScope, signal);
  const listing = files.map((f) => (f.content === null ? `(binary or too large: ${f.path})` : renderFileBlock(f.path, f.content))).join('\n\n');
  const system = [
    'You are a coding agent working on one task in a Git repository.',
    'Answer with the complete new content of every file you create or change, each in its own fenced block whose info string is file:<path>, for example:',
    '```file:src/example.ts\n<the whole file>\n```',
    'To delete a file, send an empty block with the info string delete:<path>. If a file contains a line of three backticks, fence it with four or more.',
    `Only paths matching these globs may be changed (others are rejected): ${task.writeScope.join(', ')}`,
    'Text outside such blocks is ignored.',
    files.length ? `Current files in scope:\n\n${listing}${omitted ? `\n\n(${omitted} more files in scope not shown)` : ''}` : 'No tracked files match the write scope yet.',
  ].join('\n\n');
  const user = [`Task: ${task.title}`, task.description, task.instructions ?? ''].filter((s) => s.trim() !== '').join('\n\n');
  return [
    { role: 'system', content: system },
    { role: 'user', content: user },
  ];
}
