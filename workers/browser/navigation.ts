import { TimeoutError, type CDPSession, type Frame, type HTTPResponse, type Page, type PuppeteerLifeCycleEvent } from 'puppeteer-core';
import type { SsrfGuard } from '../../runtime/net/ssrf.ts';
import { navigationFailed } from './errors.ts';
import { mapPageError } from './page-errors.ts';
import type { RequestGuard } from './request-guard.ts';
import type { GotoResult, WaitUntil } from './schemas.ts';

/**
 * `goto`: the URL is checked by the guard first (a refused URL is the caller's mistake: 422), then every hop of the
 * navigation by the request guard (a redirect to a refused target is the site's doing: 502 with the hop and the rule).
 * Playwright's `waitUntil` names are kept: `networkidle` = puppeteer's networkidle0 (no request for 500 ms), and
 * `commit` (which puppeteer lacks) resolves when the main frame commits the new document, i.e. after the response
 * headers arrived; the rest of the load goes on in the background.
 */

const LIFECYCLE: Record<Exclude<WaitUntil, 'commit'>, PuppeteerLifeCycleEvent> = {
  load: 'load',
  domcontentloaded: 'domcontentloaded',
  networkidle: 'networkidle0',
};

export interface NavigateOptions {
  waitUntil: WaitUntil;
  timeout: number;
}

export async function navigate(page: Page, cdp: CDPSession, guard: SsrfGuard, requests: RequestGuard, url: string, opts: NavigateOptions): Promise<GotoResult> {
  await guard.check(url).catch((err: unknown) => Promise.reject(mapPageError(err, { what: 'Navigation' }))); // refused -> 422
  const mark = requests.mark();
  const errorPages = new ErrorPageWatch(page);
  let response: HTTPResponse | null;
  try {
    response = opts.waitUntil === 'commit' ? await gotoCommit(page, url, opts.timeout) : await page.goto(url, { waitUntil: LIFECYCLE[opts.waitUntil], timeout: opts.timeout });
    errorPages.stop();
  } catch (err) {
    await settle(cdp, err, errorPages);
    const hop = requests.lastNavigationBlock(mark);
    if (hop) {
      const what = hop.redirect ? 'a redirect to' : 'a request to';
      throw navigationFailed(`Navigation blocked: ${what} ${hop.url} was refused (${hop.message})`, `blocked_${hop.reason}`, {
        blocked_url: hop.url,
        redirect: hop.redirect,
      });
    }
    throw mapPageError(err, { what: `Navigation to ${url.slice(0, 200)}`, timeoutMs: opts.timeout });
  }
  return { url: page.url(), title: await page.title().catch(() => ''), status: response?.status() ?? null };
}

async function gotoCommit(page: Page, url: string, timeout: number): Promise<HTTPResponse | null> {
  const main = page.mainFrame();
  let response: HTTPResponse | null = null;
  const onResponse = (r: HTTPResponse) => {
    if (r.request().isNavigationRequest() && r.frame() === main) response = r;
  };
  let onCommit: (f: Frame) => void = () => {};
  const committed = new Promise<'committed'>((resolve) => {
    onCommit = (f) => {
      if (f === main) resolve('committed');
    };
  });
  page.on('response', onResponse);
  page.on('framenavigated', onCommit);
  const full = page.goto(url, { waitUntil: 'load', timeout });
  try {
    const first = await Promise.race([full, committed]);
    if (first !== 'committed') return first;
    // Still loading: its later failure (or timeout) belongs to no caller any more.
    full.catch(() => {});
    return response;
  } finally {
    page.off('response', onResponse);
    page.off('framenavigated', onCommit);
  }
}

/** Counts error-page commits of the main frame from the start of a navigation, and can wait for the next one. */
class ErrorPageWatch {
  private commits = 0;
  private waiter: (() => void) | null = null;
  private readonly onNav: (f: Frame) => void;

  constructor(private readonly page: Page) {
    const main = page.mainFrame();
    this.onNav = (f) => {
      if (f !== main || !f.url().startsWith('chrome-error://')) return;
      this.commits++;
      this.waiter?.();
    };
    page.on('framenavigated', this.onNav);
  }

  async waitForOne(timeoutMs: number): Promise<void> {
    if (this.commits === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.stop();
  }

  stop(): void {
    this.page.off('framenavigated', this.onNav);
  }
}

/**
 * Leave the page in a stable state after a failed navigation, so the next call does not race it: Chromium commits
 * its error page (chrome-error://) *after* page.goto rejects (seen up to ~400 ms later on a loaded machine), and a
 * timed-out navigation keeps loading. Measured: without this, a goto issued right after a refused redirect resolved
 * to the previous failure's late error page. Each failure waits for its own commit (not merely for the URL to be
 * chrome-error://, which the previous failure may already have left there).
 */
async function settle(cdp: CDPSession, err: unknown, errorPages: ErrorPageWatch): Promise<void> {
  if (err instanceof TimeoutError) {
    errorPages.stop();
    await cdp.send('Page.stopLoading').catch(() => {});
    return;
  }
  // A network error (except ERR_ABORTED, a cancelled navigation) always ends in an error page commit.
  const msg = err instanceof Error ? err.message : String(err);
  if (!/net::ERR_/.test(msg) || /ERR_ABORTED/.test(msg)) {
    errorPages.stop();
    return;
  }
  await errorPages.waitForOne(5_000);
}
