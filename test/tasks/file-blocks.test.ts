import { describe, expect, it } from 'vitest';
import { parseFileBlocks, renderFileBlock } from '../../workers/tasks/file-blocks.ts';

describe('model reply file blocks', () => {
  it('reads file and delete blocks, ignoring prose and ordinary code blocks', () => {
    const reply = [
      'Here you go.',
      '```ts',
      'not a file',
      '```',
      '```file:src/a.ts',
      'export const a = 1;',
      '',
      '```',
      '~~~delete: old/b.md',
      '~~~',
      '```file:src/empty.txt',
      '```',
    ].join('\n');
    expect(parseFileBlocks(reply)).toEqual({
      edits: [
        { path: 'src/a.ts', content: 'export const a = 1;\n\n' },
        { path: 'old/b.md', content: null },
        { path: 'src/empty.txt', content: '' },
      ],
      rejected: [],
    });
  });

  it('uses longer fences for files holding fences, keeps the last block per path and rejects bad or unclosed ones', () => {
    const inner = 'doc\n```js\nx\n```\n';
    const reply = [renderFileBlock('README.md', inner), '```file:README.md', 'second', '```', '```file:../x', 'y', '```', '```file:src/open.ts', 'half'].join('\n');
    const out = parseFileBlocks(reply);
    expect(out.edits).toEqual([{ path: 'README.md', content: 'second\n' }]);
    expect(out.rejected).toEqual([
      { path: '../x', reason: 'invalid path: must be a normalised path without empty, "." or ".." segments' },
      { path: 'src/open.ts', reason: 'file block is not closed' },
    ]);
    expect(parseFileBlocks(renderFileBlock('README.md', inner)).edits).toEqual([{ path: 'README.md', content: inner }]);
  });
});
