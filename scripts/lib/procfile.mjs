// Reads the Procfile so that `npm start` runs the same process types a platform would, in one supervised tree.
// The `release` entry (migrations) is run before, not alongside; `TAKOS_WORKERS=none` starts only `web`.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { root } from './services.mjs';

export function processTree(env) {
  const lines = readFileSync(path.join(root, 'Procfile'), 'utf8').split('\n');
  const out = [];
  for (const line of lines) {
    const m = /^([a-z_]+):\s*(.+)$/.exec(line.trim());
    if (!m || m[1] === 'release') continue;
    if (m[1] !== 'web' && env.TAKOS_WORKERS === 'none') continue;
    // Procfile commands are `node --import tsx <file> [args]`; keep what follows `tsx`.
    const parts = m[2].split(/\s+/);
    const i = parts.indexOf('tsx');
    out.push({ name: m[1], args: parts.slice(i + 1) });
  }
  return out;
}
