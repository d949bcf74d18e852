import os from 'node:os';
import { rmSync } from 'node:fs';
import { conflict } from '../../runtime/errors.ts';
import { newHexId32 } from '../../runtime/ids.ts';
import { SsrfGuard, type Resolver } from '../../runtime/net/ssrf.ts';
import { Admission } from './admission.ts';
import { LoadSampler, ReleaseRate, browsersFor, defaultMaxSessions, type Load, type LoadProbe } from './capacity.ts';
import { findChromium } from './chromium.ts';
import { cachingResolver } from './dns-cache.ts';
import { EgressProxy, RefusingProxy } from './egress-proxy.ts';
import { parseInput, poolUnavailable } from './errors.ts';
import { Fleet, type FleetBrowser } from './fleet.ts';
import { mapPageError } from './page-errors.ts';
import { reapOrphans, staleDirs, treeMemory } from './reaper.ts';
import { Spares, type PreparedPage } from './spares.ts';
import { BrowserSession } from './session.ts';
import { CreateSessionSchema, DEFAULT_VIEWPORT } from './schemas.ts';

/**
 * The browser worker pool: a few shared Chromium processes (fleet.ts), an incognito BrowserContext + page per session
 * (session.ts), slots and a bounded wait queue in front (admission.ts), SSRF rules on every request (request
 * interception + the egress proxy), and orphan reaping at start (reaper.ts).
 *
 * Lifecycle: new -> start() (reap orphans of dead workers, start the proxy, launch browsers) -> running -> close().
 * What happens on failure:
 *  - a browser crashes or is killed: the sessions on it fail with the exit reason (later calls: 410 with it), their
 *    slots are freed at once, the tree is reaped and a new browser launched; other browsers' sessions are untouched;
 *  - a renderer crashes: only that session fails;
 *  - the worker process dies (even by SIGKILL): its browsers are orphans; the next pool started on the machine
 *    with the same data root kills them and removes their user-data-dirs.
 * Sessions live only in this process: the browser-session actor (part 2) owns the durable state and timers; the
 * pool's own idle sweep (`idleTimeoutMs`, default 30 min) is a backstop for sessions whose owner vanished.
 */

export interface BrowserPoolOptions {
  /** Most sessions at once; default `defaultMaxSessions()` (capacity.ts has the formula). */
  maxSessions?: number;
  /** Chromium processes; default one per 24 sessions. */
  browsers?: number;
  /** Callers allowed to wait for a slot; default = maxSessions. */
  queueMax?: number;
  queueTimeoutMs?: number;
  /** Above this CPU or memory fraction no new session starts (default 0.9). */
  loadThreshold?: number;
  loadProbe?: LoadProbe;
  executablePath?: string;
  /** Where user-data-dirs live (under `takos-chromium/`); default the OS temp dir. */
  dataRoot?: string;
  /** Explicit switch for tests and local development: pages may reach 127.0.0.0/8 and ::1. Off by default. */
  allowLoopback?: boolean;
  denyCidrs?: string[];
  resolver?: Resolver;
  /**
   * Route all page traffic through the pinned-DNS egress proxy, and the browser's own background traffic to a proxy
   * that refuses it (default true).
   */
  egressProxy?: boolean;
  idleTimeoutMs?: number;
  /** Pages kept open and ready per browser so create() skips the renderer start (spares.ts); default 1. */
  sparePages?: number;
  log?: (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
}

export interface CreateOptions {
  /** The session id to use (the actor's id); default a new 32-hex id. */
  id?: string;
}

export interface Capacity {
  used: number;
  max: number;
  queued: number;
  queueMax: number;
  /** False when a new session would have to wait: full, overloaded, or no browser up. */
  accepting: boolean;
  refusal: string | null;
  load: Load;
  loadThreshold: number;
  browsers: Array<{ no: number; state: string; pid: number; sessions: number; memoryBytes: number }>;
}

export class BrowserPool {
  readonly guard: SsrfGuard;
  readonly maxSessions: number;
  private readonly admission: Admission;
  private readonly fleet: Fleet;
  private readonly proxy: EgressProxy | null;
  private readonly background: RefusingProxy | null;
  private pageProxyUrl: string | undefined;
  private readonly spares: Spares;
  private readonly sessions = new Map<string, BrowserSession>();
  private readonly releases = new ReleaseRate();
  private readonly loadProbe: LoadProbe;
  private readonly threshold: number;
  private readonly log: NonNullable<BrowserPoolOptions['log']>;
  private sweepTimer: NodeJS.Timeout | null = null;
  private state: 'new' | 'running' | 'closed' = 'new';

  constructor(private readonly o: BrowserPoolOptions = {}) {
    this.maxSessions = o.maxSessions ?? defaultMaxSessions();
    this.threshold = o.loadThreshold ?? 0.9;
    this.loadProbe = o.loadProbe ?? new LoadSampler().read;
    this.log = o.log ?? (() => {});
    this.guard = new SsrfGuard({ allowLoopback: o.allowLoopback ?? false, denyCidrs: o.denyCidrs ?? [], resolver: cachingResolver(o.resolver) });
    this.spares = new Spares(o.sparePages ?? 1, this.guard, () => this.pageProxyUrl);
    this.proxy = o.egressProxy === false ? null : new EgressProxy(this.guard, (b) => this.log('warn', 'egress proxy refused a request', { ...b }));
    this.background = o.egressProxy === false ? null : new RefusingProxy();
    this.admission = new Admission({
      max: this.maxSessions,
      queueMax: o.queueMax ?? this.maxSessions,
      queueTimeoutMs: o.queueTimeoutMs ?? 30_000,
      blocker: () => {
        if (!this.fleet.anyUp()) return 'no_browser';
        const l = this.loadProbe();
        return l.cpu >= this.threshold || l.memory >= this.threshold ? 'overloaded' : null;
      },
      retryAfterSeconds: (waiting) => this.releases.retryAfterSeconds(waiting),
    });
    this.fleet = new Fleet({
      count: o.browsers ?? browsersFor(this.maxSessions),
      executablePath: o.executablePath ?? findChromium(),
      dataRoot: o.dataRoot ?? os.tmpdir(),
      onUp: (b) => {
        if (b.browser) this.spares.refill(b.browser);
        this.admission.pump();
      },
      onDown: (b, reason) => this.browserDown(b, reason),
      log: this.log,
    });
  }

  get markerRoot(): string {
    return this.fleet.markerRoot;
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('BrowserPool.start() called twice');
    const reaped = await reapOrphans(this.fleet.markerRoot);
    for (const d of [...reaped.dirs, ...staleDirs(this.fleet.markerRoot)]) rmSync(d, { recursive: true, force: true });
    if (reaped.killed > 0) this.log('warn', 'killed orphaned chromium processes of a dead worker', { killed: reaped.killed });
    this.pageProxyUrl = this.proxy ? await this.proxy.start() : undefined;
    const browserProxyUrl = this.background ? await this.background.start() : undefined;
    this.state = 'running';
    await this.fleet.start(browserProxyUrl);
    const idle = this.o.idleTimeoutMs ?? 30 * 60_000;
    this.sweepTimer = setInterval(() => this.sweep(idle), idle > 0 ? Math.min(30_000, idle) : 30_000);
    this.sweepTimer.unref();
  }

  /** Take a slot (waiting in the queue if needed), open an incognito context + page, and go to `url` if given. */
  async create(input: unknown = {}, opts: CreateOptions = {}): Promise<BrowserSession> {
    const c = parseInput(CreateSessionSchema, input);
    if (this.state !== 'running') throw poolUnavailable('Browser pool is not running');
    if (opts.id !== undefined && this.sessions.has(opts.id)) throw conflict(`Browser session ${opts.id} already exists`);
    if (c.url !== undefined) await this.guard.check(c.url).catch((e) => Promise.reject(mapPageError(e, { what: 'Create' })));
    await this.admission.acquire();
    const b = this.fleet.pick();
    if (!b || !b.browser) {
      this.admission.release();
      throw poolUnavailable('No browser is running');
    }
    const viewport = c.viewport ?? DEFAULT_VIEWPORT;
    const id = opts.id ?? newHexId32();
    b.sessions++;
    let session: BrowserSession;
    let prepared: PreparedPage | undefined;
    try {
      prepared = await this.spares.acquire(b.browser);
      if (viewport.width !== DEFAULT_VIEWPORT.width || viewport.height !== DEFAULT_VIEWPORT.height) await prepared.page.setViewport(viewport);
      session = new BrowserSession({ id, browserNo: b.no, ...prepared, guard: this.guard, viewport, onEnd: (s) => this.ended(s, b) });
      this.sessions.set(id, session);
    } catch (err) {
      b.sessions--;
      this.admission.release();
      await prepared?.context.close().catch(() => {});
      throw mapPageError(err, { what: 'Creating the browser session' });
    }
    if (c.url !== undefined) {
      try {
        await session.goto({ url: c.url });
      } catch (err) {
        await session.close();
        throw err;
      }
    }
    return session;
  }

  get(id: string): BrowserSession | undefined {
    return this.sessions.get(id);
  }

  list(): BrowserSession[] {
    return [...this.sessions.values()];
  }

  capacity(): Capacity {
    const refusal = this.admission.refusal();
    return {
      used: this.admission.used,
      max: this.admission.max,
      queued: this.admission.queued,
      queueMax: this.admission.queueMax,
      accepting: refusal === null && this.state === 'running',
      refusal,
      load: this.loadProbe(),
      loadThreshold: this.threshold,
      browsers: this.fleet.browsers.map((b) => ({
        no: b.no,
        state: b.state,
        pid: b.pid,
        sessions: b.sessions,
        memoryBytes: b.state === 'up' ? treeMemory(this.fleet.markerRoot, b.userDataDir) : 0,
      })),
    };
  }

  /** Requests the egress proxy refused (most recent 100): traffic that request interception did not see. */
  proxyBlocks(): ReadonlyArray<{ url: string; reason: string; message: string }> {
    return this.proxy?.blocks ?? [];
  }

  /** Requests of the browser itself (not of any page) refused since start: Chromium's background dial-outs. */
  get backgroundRefused(): number {
    return this.background?.refused ?? 0;
  }

  /** pid and user-data-dir of each browser (tests and the reaper's diagnostics). */
  browserProcesses(): Array<{ no: number; pid: number; userDataDir: string; state: string }> {
    return this.fleet.browsers.map((b) => ({ no: b.no, pid: b.pid, userDataDir: b.userDataDir, state: b.state }));
  }

  private ended(s: BrowserSession, b: FleetBrowser): void {
    // A failed session stays in the map so a later get() can say why (until forget() or 10 minutes); a closed one
    // is dropped at once (its closer knows).
    if (s.state === 'closed') this.sessions.delete(s.id);
    b.sessions = Math.max(0, b.sessions - 1);
    this.releases.released();
    this.admission.release();
  }

  private browserDown(b: FleetBrowser, reason: string): void {
    this.spares.prune();
    for (const s of this.sessions.values()) if (s.browserNo === b.no && s.state === 'active') s.fail('browser_crashed', reason);
  }

  private sweep(idleMs: number): void {
    const now = Date.now();
    for (const [id, s] of this.sessions) {
      // Ended as a failure with its own reason (not a plain close), so it stays visible to get() like a crash.
      if (s.state === 'active' && idleMs > 0 && now - s.lastUsedAt > idleMs) s.fail('idle_timeout', `Closed after ${Math.round(idleMs / 60_000)} min without use`);
      else if (s.state !== 'active' && now - s.lastUsedAt > 10 * 60_000) this.sessions.delete(id);
    }
  }

  /** Forget an ended session now (the actor calls this once it has recorded the end). */
  forget(id: string): void {
    if (this.sessions.get(id)?.state !== 'active') this.sessions.delete(id);
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.admission.rejectAll(poolUnavailable('Browser pool is shutting down'));
    await Promise.all([...this.sessions.values()].map((s) => s.close()));
    this.sessions.clear();
    await this.spares.close();
    await this.fleet.close();
    await this.proxy?.close();
    await this.background?.close();
  }
}
