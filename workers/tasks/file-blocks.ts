import { relativePathError } from '../../runtime/tasks/scope.ts';
import type { AgentOutput, FileEdit, RejectedFile } from './types.ts';

/**
 * The reply format the model agent asks for (docs/task-status.md, "Task runs"): each changed file as a fenced block
 * whose info string is `file:<path>`, holding the file's complete new content; `delete:<path>` with an empty block
 * deletes a file. A fence of N backticks (or tildes), N >= 3, is closed by a line of at least N of the same
 * character and nothing else, so a file that itself contains ``` is sent inside ```` fences. Everything outside
 * such blocks (explanations, ordinary code blocks) is ignored. A later block for the same path replaces an earlier
 * one. A block left open at the end of the reply is rejected, never applied half-written.
 */
const OPEN = /^(`{3,}|~{3,})[ \t]*(file|delete):[ \t]*(.+?)[ \t]*$/;

export function parseFileBlocks(reply: string): AgentOutput {
  const lines = reply.split(/\r?\n/);
  const byPath = new Map<string, FileEdit>();
  const rejected: RejectedFile[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = OPEN.exec(lines[i]!);
    if (!m) continue;
    const fence = m[1]!;
    const kind = m[2]!;
    const path = m[3]!;
    const closing = new RegExp(`^${fence[0] === '`' ? '`' : '~'}{${fence.length},}[ \\t]*$`);
    let end = -1;
    for (let j = i + 1; j < lines.length; j++) {
      if (closing.test(lines[j]!)) {
        end = j;
        break;
      }
    }
    if (end === -1) {
      rejected.push({ path, reason: 'file block is not closed' });
      break;
    }
    const body = lines.slice(i + 1, end);
    i = end;
    const err = relativePathError(path);
    if (err) {
      rejected.push({ path, reason: `invalid path: ${err}` });
      continue;
    }
    byPath.set(path, { path, content: kind === 'delete' ? null : body.length ? `${body.join('\n')}\n` : '' });
  }
  return { edits: [...byPath.values()], rejected };
}

/** Renders a file in the same format, for the prompt (a fence longer than any backtick run inside). */
export function renderFileBlock(path: string, content: string): string {
  const longest = Math.max(2, ...[...content.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}file:${path}\n${content}${content.endsWith('\n') || content === '' ? '' : '\n'}${fence}`;
}
