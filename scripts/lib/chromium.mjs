// Debian's Chromium for the browser worker pool (workers/browser) and its tests. Plain Node, no dependencies: it
// runs before `npm ci`. puppeteer-core drives the system Chromium; a plain `puppeteer` install would try to download
// a browser build, which a closed network refuses.
import { accessSync, constants } from 'node:fs';
import { spawnSync } from 'node:child_process';

const CANDIDATES = ['/usr/lib/chromium/chromium', '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome-stable', '/usr/bin/google-chrome'];

function executable(p) {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findChromium() {
  const list = [process.env.CHROMIUM_PATH, ...CANDIDATES].filter(Boolean);
  return list.find(executable) ?? null;
}

/**
 * The path of a Chromium binary, installing Debian's `chromium` package when none is found (root only).
 * `required: false` returns null instead of throwing when it cannot be had (e.g. `npm start` as a normal user: the
 * server runs, only browser sessions are unavailable).
 */
export function ensureChromium({ required = true, log = (m) => process.stderr.write(`[takos] ${m}\n`) } = {}) {
  const found = findChromium();
  if (found) return found;
  const fail = (msg) => {
    if (required) throw new Error(msg);
    log(`${msg}; browser sessions will be unavailable`);
    return null;
  };
  if (process.getuid?.() !== 0) return fail('Chromium is missing: install it with `apt-get install -y chromium`, or set CHROMIUM_PATH');
  log('installing chromium from Debian (apt-get install chromium)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args) => spawnSync('apt-get', args, { stdio: 'inherit', env }).status === 0;
  if (!run(['update', '-qq']) || !run(['install', '-y', '-qq', '--no-install-recommends', 'chromium'])) return fail('apt-get install chromium failed');
  return findChromium() ?? fail('chromium was installed but no binary was found');
}
