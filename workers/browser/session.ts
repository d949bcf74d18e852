import type { BrowserContext, CDPSession, Page } from 'puppeteer-core';
import type { AppError } from '../../runtime/errors.ts';
import type { SsrfGuard } from '../../runtime/net/ssrf.ts';
import { ActionSchema, runAction, type ActionResult } from './actions.ts';
import { pdf, screenshot, type Png } from './capture.ts';
import { parseInput, sessionGone } from './errors.ts';
import { extractEvaluate, extractSelector, pageHtml } from './extract.ts';
import { navigate } from './navigation.ts';
import type { RequestGuard } from './request-guard.ts';
import { ExtractSchema, GotoSchema, LIMITS, PdfSchema, ScreenshotSchema, type ExtractResult, type GotoResult, type HtmlResult, type Viewport } from './schemas.ts';

/**
 * One browser session = one incognito BrowserContext with one page, on one of the pool's browsers.
 *
 * States: active -> closed (close() by the caller, or the pool's idle backstop)
 *         active -> failed (its browser crashed or its renderer died; `failure` says why).
 * Both ends are final: every later call answers 410 GONE with the reason, and the pool slot is already free.
 * Calls on one session run one at a time, in arrival order (two clicks racing on one page would interleave); a
 * close() does not wait for the running call, it tears the context down under it, and that call fails with 410.
 * Every input is parsed here with the same zod schemas the routes declare, so the library cannot be driven into a
 * crash by a malformed call either.
 */

export type SessionState = 'active' | 'closed' | 'failed';

export interface SessionFailure {
  reason: string;
  message: string;
}

export interface SessionDeps {
  id: string;
  browserNo: number;
  context: BrowserContext;
  page: Page;
  cdp: CDPSession;
  guard: SsrfGuard;
  requests: RequestGuard;
  viewport: Viewport;
  /** Called exactly once when the session ends (any way), so the pool frees the slot. */
  onEnd: (s: BrowserSession) => void;
}

export class BrowserSession {
  readonly id: string;
  readonly browserNo: number;
  readonly createdAt = new Date();
  readonly viewport: Viewport;
  lastUsedAt = Date.now();
  private _state: SessionState = 'active';
  private _failure: SessionFailure | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly d: SessionDeps;

  constructor(deps: SessionDeps) {
    this.d = deps;
    this.id = deps.id;
    this.browserNo = deps.browserNo;
    this.viewport = deps.viewport;
    // A renderer crash (OOM, a crash page) leaves the page unusable: the session fails, its slot is freed.
    deps.page.on('error', (err) => this.fail('renderer_crashed', `The page crashed: ${err.message}`));
    deps.page.on('close', () => this.fail('page_closed', 'The page was closed'));
  }

  get state(): SessionState {
    return this._state;
  }
  get failure(): SessionFailure | null {
    return this._failure;
  }
  get url(): string {
    return this._state === 'active' ? this.d.page.url() : '';
  }

  /** Requests of this session (its page and its popups) that the request guard refused, most recent last. */
  blockedRequests(): ReadonlyArray<{ url: string; reason: string; primary: boolean; navigation: boolean }> {
    return this.d.requests.blocked;
  }

  private gone(): AppError {
    if (this._failure) return sessionGone(`Browser session failed: ${this._failure.message}`, this._failure.reason);
    return sessionGone('Browser session is closed', 'closed');
  }

  /** Run `op` after the calls before it; a failure that means the target died ends the session. */
  private run<T>(op: (page: Page) => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      if (this._state !== 'active') throw this.gone();
      this.lastUsedAt = Date.now();
      try {
        return await op(this.d.page);
      } catch (err) {
        if (this._state !== 'active') throw this.gone();
        // Only facts, not error texts (an evaluated expression can throw any message): the page is closed or its
        // browser is gone. A crashed renderer or browser is also reported by events (constructor, pool).
        if (this.d.page.isClosed() || !this.d.context.browser().connected) {
          this.fail('target_closed', 'The page is no longer reachable');
          throw this.gone();
        }
        throw err;
      } finally {
        this.lastUsedAt = Date.now();
      }
    });
    this.queue = next.catch(() => {});
    return next;
  }

  async goto(input: unknown): Promise<GotoResult> {
    const g = parseInput(GotoSchema, input);
    return this.run((page) => navigate(page, this.d.cdp, this.d.guard, this.d.requests, g.url, { waitUntil: g.waitUntil, timeout: g.timeout }));
  }

  async action(input: unknown): Promise<ActionResult> {
    const a = parseInput(ActionSchema, input);
    return this.run((page) => runAction(page, a));
  }

  async extract(input: unknown): Promise<ExtractResult> {
    const e = parseInput(ExtractSchema, input);
    return this.run((page) => (e.evaluate !== undefined ? extractEvaluate(page, this.d.cdp, e.evaluate, e.timeout) : extractSelector(page, e.selector!, e.timeout)));
  }

  async html(opts: { timeout?: number; maxChars?: number } = {}): Promise<HtmlResult> {
    return this.run((page) => pageHtml(page, opts.timeout ?? LIMITS.defaultTimeoutMs, opts.maxChars));
  }

  async screenshot(input: unknown = {}): Promise<Png> {
    const s = parseInput(ScreenshotSchema, input);
    return this.run((page) => screenshot(page, this.viewport, s));
  }

  async pdf(input: unknown = {}): Promise<Buffer> {
    const p = parseInput(PdfSchema, input);
    return this.run((page) => pdf(page, p));
  }

  /** Idempotent. Frees the slot at once; the context is torn down in the background of the returned promise. */
  async close(): Promise<void> {
    if (this._state !== 'active') return;
    this._state = 'closed';
    this.d.onEnd(this);
    await this.d.context.close().catch(() => {});
  }

  /** Called by the pool when the browser under this session died, or by the page's own crash events. */
  fail(reason: string, message: string): void {
    if (this._state !== 'active') return;
    this._state = 'failed';
    this._failure = { reason, message };
    this.d.onEnd(this);
    void this.d.context.close().catch(() => {});
  }
}
