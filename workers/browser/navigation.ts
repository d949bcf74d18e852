import type { Frame, HTTPResponse, Page, PuppeteerLifeCycleEvent } from 'puppeteer-core';
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

export async function navigate(page: Page, guard: SsrfGuard, requests: RequestGuard, url: string, opts: NavigateOptions): Promise<GotoResult> {
  await guard.check(url); // throws SsrfBlockedError -> 422 through mapPageError
  const mark = requests.mark();
  let response: HTTPResponse | null;
  try {
    response = opts.waitUntil === 'commit' ? await gotoCommit(page, url, opts.timeout) : await page.goto(url, { waitUntil: LIFECYCLE[opts.waitUntil], timeout: opts.timeout });
  } catch (err) {
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
