import { existsSync, mkdirSync, rmSync, accessSync, constants } from 'node:fs';
import path from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { processStartTime } from './reaper.ts';

/**
 * Finding and starting Chromium. One launched browser = one process group (puppeteer spawns it detached, so the
 * browser's pid is the group id of every zygote, renderer, GPU and utility process it forks) and one fresh
 * user-data-dir whose path carries the owner marker the reaper looks for: every Chromium child repeats
 * `--user-data-dir=...` on its command line (checked on Debian's chromium 156), while the environment is not passed on.
 */

/** Debian's package installs a shell wrapper at /usr/bin/chromium; the real binary avoids the wrapper's extra flags. */
const CANDIDATES = ['/usr/lib/chromium/chromium', '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome-stable', '/usr/bin/google-chrome'];

export function findChromium(explicit?: string): string {
  const list = explicit ? [explicit] : [process.env.CHROMIUM_PATH, ...CANDIDATES].filter((p): p is string => !!p);
  for (const p of list) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  throw new Error(`Chromium not found (looked at ${list.join(', ')}); install it with: apt-get install -y chromium`);
}

export const isRoot = (): boolean => process.getuid?.() === 0;

/** Folder under which every browser's user-data-dir lives; its name is the reaper's marker. */
export const MARKER_DIR = 'takos-chromium';

/**
 * `o<ownerPid>-<ownerStartTicks>-b<n>-<random>`: the owner's start time makes the marker survive pid reuse (a new
 * process that happens to get a dead worker's pid does not adopt its orphans).
 */
export function userDataDirFor(root: string, browserNo: number): string {
  const me = `o${process.pid}-${processStartTime(process.pid) ?? 0}`;
  return path.join(root, MARKER_DIR, `${me}-b${browserNo}-${Math.random().toString(36).slice(2, 8)}`);
}

export interface LaunchSpec {
  executablePath: string;
  userDataDir: string;
  /**
   * http://127.0.0.1:port of the browser-level proxy: what requests of no page context (the browser's own) go
   * through. The pool points it at a refusing proxy and gives each page context the egress proxy. Omitted -> direct.
   */
  proxyUrl?: string;
  protocolTimeoutMs?: number;
  extraArgs?: string[];
}

/**
 * Flags that work on a closed network as root (see the machine notes): without the background-networking group,
 * Chromium keeps dialing Google services that the network refuses. `--no-sandbox` only as root, where the setuid /
 * user-namespace sandbox cannot start; as any other user the sandbox stays on.
 */
export function chromiumArgs(spec: Pick<LaunchSpec, 'userDataDir' | 'proxyUrl' | 'extraArgs'>): string[] {
  const args = [
    '--headless=new',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-domain-reliability',
    '--disable-client-side-phishing-detection',
    '--disable-default-apps',
    '--disable-extensions',
    '--disable-breakpad',
    '--no-first-run',
    '--no-default-browser-check',
    '--no-pings',
    '--disable-quic',
    '--mute-audio',
    '--hide-scrollbars',
    '--disable-dev-shm-usage',
    '--password-store=basic',
    // WebRTC may otherwise open UDP sockets that no proxy or request interception sees.
    '--force-webrtc-ip-handling-policy=disable_non_proxied_udp',
    // Chromium 156 gives every headless window (one per incognito context) two WebUI omnibox-popup renderers that
    // nobody can see. Measured: 3 renderers and ~50 MB PSS per session with them, 1 renderer and ~22 MB without,
    // and context + page creation ~40% faster. NetworkTimeServiceQuerying: a clock query to Google that
    // --disable-background-networking does not stop (seen refused by the egress proxy). puppeteer merges this list
    // with its own --disable-features.
    '--disable-features=WebUIOmniboxPopup,WebUIOmniboxAimPopup,WebUIOmniboxFullPopup,MediaRouter,OptimizationHints,Translate,NetworkTimeServiceQuerying',
    // Two dial-outs remain in Chromium 156 all the same; they meet a refusing proxy (egress-proxy.ts, RefusingProxy).
    `--user-data-dir=${spec.userDataDir}`,
  ];
  if (isRoot()) args.push('--no-sandbox');
  if (spec.proxyUrl) {
    // `<-loopback>` removes Chromium's implicit bypass for localhost, so even loopback goes through the guard.
    args.push(`--proxy-server=${spec.proxyUrl}`, '--proxy-bypass-list=<-loopback>');
  }
  return [...args, ...(spec.extraArgs ?? [])];
}

export interface Launched {
  browser: Browser;
  pid: number;
  userDataDir: string;
}

export async function launchChromium(spec: LaunchSpec): Promise<Launched> {
  mkdirSync(spec.userDataDir, { recursive: true });
  // A minimal environment: the worker's secrets (database URL, tokens) have no business in Chromium's /proc/environ.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: spec.userDataDir,
    LANG: process.env.LANG ?? 'C.UTF-8',
    TZ: process.env.TZ ?? 'UTC',
    XDG_CONFIG_HOME: path.join(spec.userDataDir, '.config'),
    XDG_CACHE_HOME: path.join(spec.userDataDir, '.cache'),
  };
  const browser = await puppeteer.launch({
    executablePath: spec.executablePath,
    headless: true,
    // Our own flag list replaces puppeteer's defaults except these harmless automation ones.
    ignoreDefaultArgs: ['--enable-automation'],
    args: chromiumArgs(spec),
    // A pipe instead of --remote-debugging-port: no DevTools port for a page (or anything else on the host) to reach.
    pipe: true,
    env,
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    protocolTimeout: spec.protocolTimeoutMs ?? 60_000,
    defaultViewport: null,
  });
  const pid = browser.process()?.pid;
  if (!pid) {
    await browser.close().catch(() => {});
    throw new Error('Chromium started without a process id');
  }
  return { browser, pid, userDataDir: spec.userDataDir };
}

export function removeUserDataDir(dir: string): void {
  if (existsSync(dir) && dir.includes(`${path.sep}${MARKER_DIR}${path.sep}`)) rmSync(dir, { recursive: true, force: true });
}
