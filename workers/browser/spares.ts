import type { Browser, BrowserContext, CDPSession, Page } from 'puppeteer-core';
import type { SsrfGuard } from '../../runtime/net/ssrf.ts';
import { DEFAULT_VIEWPORT, LIMITS } from './schemas.ts';
import { RequestGuard } from './request-guard.ts';

/**
 * Pre-opened incognito pages, so creating a session does not wait for a renderer to start.
 * Measured on the 2-core machine (Debian chromium 156): createBrowserContext ~20-70 ms, newPage 180-300 ms (the
 * renderer process start), interception + CDP session < 10 ms. A spare page takes the 200-300 ms out of create().
 * Each spare costs one renderer (~50 MB PSS) that is not counted as a session; default one per browser.
 * Spares are keyed by Browser object, so a relaunched browser never hands out a page of its dead predecessor.
 */

export interface PreparedPage {
  context: BrowserContext;
  page: Page;
  cdp: CDPSession;
  requests: RequestGuard;
}

/**
 * `proxyServer`: the egress proxy, for this context only (the browser itself is launched with a refusing proxy, see
 * RefusingProxy); `<-loopback>` keeps loopback targets going through it too.
 */
export async function preparePage(browser: Browser, guard: SsrfGuard, proxyServer?: string): Promise<PreparedPage> {
  const context = await browser.createBrowserContext(proxyServer ? { proxyServer, proxyBypassList: ['<-loopback>'] } : {});
  const requests = new RequestGuard(guard);
  try {
    // Popups (window.open, target=_blank) get the same request guard as the session's page; the egress proxy also
    // covers the first requests they make before the guard is attached.
    context.on('targetcreated', (t) => {
      if (!t.opener()) return; // the session's own page (created below) has no opener; popups do
      void t
        .page()
        .then(async (p) => {
          if (!p) return;
          p.on('dialog', (d) => void d.dismiss().catch(() => {}));
          await requests.install(p, false);
        })
        .catch(() => {});
    });
    const page = await context.newPage();
    // The common case is prepared in advance: create() resizes only when asked for another viewport.
    await page.setViewport(DEFAULT_VIEWPORT);
    page.setDefaultTimeout(LIMITS.defaultTimeoutMs);
    await requests.install(page);
    const cdp = await page.createCDPSession();
    // alert()/confirm()/prompt() block the page until answered, and nobody can answer through the API: dismiss
    // them, or every later call on the session would hang until its timeout.
    page.on('dialog', (d) => void (d.type() === 'beforeunload' ? d.accept() : d.dismiss()).catch(() => {}));
    // Downloads would land on the worker's disk; the API has no way to fetch them.
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'deny', browserContextId: context.id }).catch(() => {});
    return { context, page, cdp, requests };
  } catch (err) {
    await context.close().catch(() => {});
    throw err;
  }
}


export class Spares {
  private readonly ready = new Map<Browser, PreparedPage[]>();
  /** The page being prepared for each browser right now (one at a time: two renderer starts at once are slower). */
  private readonly inflight = new Map<Browser, Promise<void>>();
  private readonly timers = new Map<Browser, NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly perBrowser: number,
    private readonly guard: SsrfGuard,
    /** The egress proxy's URL once it listens (undefined: pages connect directly, tests without the proxy). */
    private readonly proxyServer: () => string | undefined,
    private readonly refillDelayMs = 1_000,
  ) {}

  private pop(browser: Browser): PreparedPage | undefined {
    const list = this.ready.get(browser) ?? [];
    let p: PreparedPage | undefined;
    while ((p = list.shift()) && (p.page.isClosed() || !browser.connected)) void p.context.close().catch(() => {});
    return p;
  }

  /**
   * A ready page on `browser`: a spare if there is one, else the one being prepared (waiting for it is cheaper than
   * starting a second renderer beside it), else a new one. Starts a refill either way.
   */
  async acquire(browser: Browser): Promise<PreparedPage> {
    let p = this.pop(browser);
    const pending = this.inflight.get(browser);
    if (!p && pending) {
      await pending;
      p = this.pop(browser);
    }
    this.refillLater(browser);
    return p ?? (await preparePage(browser, this.guard, this.proxyServer()));
  }

  /**
   * Refill once the new session has had its start: preparing the next spare at once starts a renderer (~200 ms of
   * CPU) beside the caller's first navigation. Measured on 2 cores: first goto ~80 ms with no refill running,
   * 200-450 ms with an immediate refill. Each acquire pushes the refill back, so a burst does not prepare pages
   * that the burst itself would then compete with.
   */
  private refillLater(browser: Browser): void {
    const t = this.timers.get(browser);
    if (t) clearTimeout(t);
    const timer = setTimeout(() => {
      this.timers.delete(browser);
      this.refill(browser);
    }, this.refillDelayMs);
    timer.unref();
    this.timers.set(browser, timer);
  }

  refill(browser: Browser): void {
    if (this.perBrowser <= 0 || this.closed || this.inflight.has(browser)) return;
    if ((this.ready.get(browser)?.length ?? 0) >= this.perBrowser || !browser.connected) return;
    const job = (async () => {
      try {
        const p = await preparePage(browser, this.guard, this.proxyServer());
        if (this.closed || !browser.connected) {
          await p.context.close().catch(() => {});
          return;
        }
        const list = this.ready.get(browser) ?? [];
        list.push(p);
        this.ready.set(browser, list);
      } catch {
        /* the browser went down meanwhile; its replacement gets its own spares */
      } finally {
        this.inflight.delete(browser);
      }
    })();
    this.inflight.set(browser, job);
    void job.then(() => this.refill(browser)); // up to perBrowser, one at a time
  }

  /** Forget the spares of browsers that went down (their pages died with them). */
  prune(): void {
    for (const b of this.ready.keys()) if (!b.connected) this.ready.delete(b);
    for (const [b, t] of this.timers) {
      if (b.connected) continue;
      clearTimeout(t);
      this.timers.delete(b);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await Promise.all([...this.inflight.values()]);
    const all = [...this.ready.values()].flat();
    this.ready.clear();
    await Promise.all(all.map((p) => p.context.close().catch(() => {})));
  }
}
