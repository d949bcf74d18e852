import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../runtime/errors.ts';

// The error catalogue is public API: code and docs must list the same codes with the same statuses.
describe('error catalogue', () => {
  it('docs/errors.md and runtime/errors.ts agree', () => {
    const doc = readFileSync(path.join(import.meta.dirname, '..', 'docs', 'errors.md'), 'utf8');
    const documented = new Map<string, number>();
    for (const m of doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)) documented.set(m[1]!, Number(m[2]));
    expect(Object.fromEntries(documented)).toEqual(ERROR_CODES);
  });
});
