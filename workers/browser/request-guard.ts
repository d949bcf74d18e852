import type { HTTPRequest, Page } from 'puppeteer-core';
import { SsrfBlockedError, type SsrfGuard } from '../../runtime/net/ssrf.ts';

/**
 * Every request the page makes (document, redirect hop, frame, subresource, XHR/fetch) is paused by puppeteer's
 * request interception and checked with the SSRF guard before it leaves; a refused one is aborted as
 * `blockedbyclient` and remembered, so a failed navigation can say which hop was refused and why.
 * Requests interception cannot see (WebSockets, service workers) and DNS rebinding are handled by the egress proxy.
 */

export interface BlockedRequest {
  url: string;
  reason: string;
  message: string;
  navigation: boolean;
  /** True when the refused request was a redirect hop (the first URL was allowed). */
  redirect: boolean;
  /** False for requests of popups (window.open) opened by the session's page. */
  primary: boolean;
  seq: number;
}

/** Schemes that never touch the network. */
const LOCAL_SCHEMES = /^(data|blob|about):/i;
const MAX_REMEMBERED = 50;

export class RequestGuard {
  readonly blocked: BlockedRequest[] = [];
  private seq = 0;

  constructor(private readonly guard: SsrfGuard) {}

  async install(page: Page, primary = true): Promise<void> {
    await page.setRequestInterception(true);
    page.on('request', (req) => void this.onRequest(req, primary));
  }

  private async onRequest(req: HTTPRequest, primary: boolean): Promise<void> {
    if (req.isInterceptResolutionHandled()) return;
    const url = req.url();
    try {
      if (!LOCAL_SCHEMES.test(url)) await this.guard.check(url);
    } catch (err) {
      const b: BlockedRequest = {
        url,
        reason: err instanceof SsrfBlockedError ? err.reason : 'error',
        message: err instanceof Error ? err.message : String(err),
        navigation: req.isNavigationRequest(),
        redirect: req.redirectChain().length > 0,
        primary,
        seq: ++this.seq,
      };
      this.blocked.push(b);
      if (this.blocked.length > MAX_REMEMBERED) this.blocked.shift();
      await req.abort('blockedbyclient').catch(() => {});
      return;
    }
    // The page may have closed while the guard was resolving: nothing to continue then.
    await req.continue().catch(() => {});
  }

  /** The most recent refused navigation request after `mark()` returned `since`. */
  lastNavigationBlock(since: number): BlockedRequest | undefined {
    return this.blocked.filter((b) => b.seq > since && b.navigation && b.primary).pop();
  }

  mark(): number {
    return this.seq;
  }
}
