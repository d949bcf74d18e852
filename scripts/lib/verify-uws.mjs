// uWebSockets.js comes from the npm republication `uwebsockets@3.0.6` (see README, "Where uWebSockets.js comes
// from"). Its Node 20 binary was checked against upstream commit b8704be; this refuses to run if the file changed.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { root, log } from './services.mjs';

const EXPECTED = {
  'uws_linux_x64_115.node': 'f4fa5d7b697529b45ac8aa3d57385d9af51bc1d2b26aa9f5b68ca4361542e665',
};

export function verifyUws() {
  const file = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
  const full = path.join(root, 'node_modules', 'uWebSockets.js', file);
  const expected = EXPECTED[file];
  const actual = createHash('sha256').update(readFileSync(full)).digest('hex');
  if (!expected) {
    log(`WARNING: no recorded checksum for ${file} (sha256 ${actual}); only the Node 20 linux-x64 binary was verified`);
    return;
  }
  if (actual !== expected) {
    throw new Error(`uWebSockets.js binary ${file} has sha256 ${actual}, expected ${expected}: refusing to run`);
  }
  log(`uWebSockets.js binary verified (${file}, sha256 ${actual.slice(0, 16)}...)`);
}
