// wrk: installing it, running it pinned to a core, and reading its report (written so other benches can reuse it).
// wrk (not autocannon, not a Node client) because a Node load generator saturates its own core long before a uWS
// server does (perf/ceilings.md); its own CPU use is measured and reported so a saturated generator is visible.
import { spawn, spawnSync } from 'node:child_process';

export function haveCommand(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Installs Debian's wrk when missing (needs root, as `npm start` does for redis-server). */
export function ensureWrk(log) {
  if (haveCommand('wrk')) return;
  if (process.getuid?.() !== 0) throw new Error('wrk is missing: apt-get install wrk (or run the bench as root)');
  log('installing wrk from Debian');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', 'wrk']]) {
    const r = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed`);
  }
}

export function wrkVersion() {
  const r = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`.split('\n')[0].replace(/\s+Copyright.*$/, '').trim();
}

/** The wrk argument list for one run; `headers` become -H flags. */
export function wrkArgs({ threads, connections, duration, url, headers = {} }) {
  const args = [`-t${threads}`, `-c${connections}`, `-d${duration}s`, '--latency'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  args.push(url);
  return args;
}

/**
 * Runs wrk pinned to `cpu` under bash, whose `times` builtin then prints the CPU time its child used: that is
 * wrk's own user+system time, without needing /usr/bin/time on the machine.
 */
export function runWrk(args, cpu) {
  const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', `taskset -c ${cpu} wrk ${quoted}; s=$?; times; exit $s`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`wrk exited with ${code}: ${err || out}`));
      resolve(parseWrk(out));
    });
  });
}

const UNIT_MS = { us: 0.001, ms: 1, s: 1000, m: 60_000 };
const toMs = (value, unit) => Number(value) * UNIT_MS[unit];
const clock = (s) => {
  const m = /^(\d+)m([\d.]+)s$/.exec(s);
  return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
};

/** Reads wrk's `--latency` report (and the two `times` lines appended to it). Throws when a number is missing. */
export function parseWrk(text) {
  const num = (re, name) => {
    const m = re.exec(text);
    if (!m) throw new Error(`could not find ${name} in wrk output:\n${text}`);
    return m;
  };
  const rps = Number(num(/Requests\/sec:\s+([\d.]+)/, 'Requests/sec')[1]);
  const total = num(/(\d+) requests in ([\d.]+)(us|ms|s|m),/, 'request count');
  const pct = {};
  for (const p of ['50', '75', '90', '99']) {
    const m = num(new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm'), `${p}% latency`);
    pct[p] = toMs(m[1], m[2]);
  }
  const max = /^\s+Latency\s+[\d.]+\w+\s+[\d.]+\w+\s+([\d.]+)(us|ms|s|m)/m.exec(text);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(text);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  // `times` prints the shell's own user/sys line, then its children's (wrk's).
  const timeLines = text.trim().split('\n').slice(-2);
  const [cu, cs] = (timeLines[1] ?? '').trim().split(/\s+/).map(clock);
  const durationS = toMs(total[2], total[3]) / 1000;
  return {
    requests: Number(total[1]),
    durationS,
    rps,
    p50Ms: pct['50'],
    p75Ms: pct['75'],
    p90Ms: pct['90'],
    p99Ms: pct['99'],
    maxMs: max ? toMs(max[1], max[2]) : null,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: sock ? sock.slice(1, 5).reduce((a, b) => a + Number(b), 0) : 0,
    wrkCpuS: Number.isFinite(cu + cs) ? cu + cs : null,
    wrkCpuPct: Number.isFinite(cu + cs) ? ((cu + cs) / durationS) * 100 : null,
    raw: text,
  };
}
