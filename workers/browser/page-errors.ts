import { TimeoutError } from 'puppeteer-core';
import { AppError } from '../../runtime/errors.ts';
import { SsrfBlockedError } from '../../runtime/net/ssrf.ts';
import { blockedUrl, navigationFailed, pageTimeout, validation } from './errors.ts';

/**
 * The one place where puppeteer / Chromium failures become API errors (see errors.ts for the status rules).
 * `what` names the operation for the message; `selector` marks operations where a timeout means "no element".
 */
export interface ErrorContext {
  what: string;
  selector?: string;
  timeoutMs?: number;
}

const text = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Errors that mean the page or its browser went away (the session layer decides whether the session is dead). */
export function isTargetGone(e: unknown): boolean {
  return /Target closed|Session closed|Connection closed|Protocol error.*(closed|Target)|Navigating frame was detached|Page crashed|detached Frame|has been closed|Browser has disconnected/i.test(text(e));
}

export function mapPageError(e: unknown, ctx: ErrorContext): AppError {
  if (e instanceof AppError) return e;
  if (e instanceof SsrfBlockedError) return blockedUrl(e);
  const msg = text(e);
  if (e instanceof TimeoutError || /timed? ?out|Timeout .* exceeded/i.test(msg)) {
    if (ctx.selector !== undefined) {
      return validation(`No element matching ${JSON.stringify(ctx.selector)} became ready within ${ctx.timeoutMs ?? '?'} ms`, 'selector', 'element_not_found');
    }
    return pageTimeout(`${ctx.what} timed out after ${ctx.timeoutMs ?? '?'} ms`, { timeout_ms: ctx.timeoutMs });
  }
  if (/is not a valid selector|Invalid selector|Unknown selector|Unsupported selector/i.test(msg)) {
    return validation(`Invalid selector ${JSON.stringify(ctx.selector ?? '')}`, 'selector', 'invalid_selector');
  }
  if (/Unknown key/i.test(msg)) return validation(msg, 'key', 'unknown_key');
  const net = /net::ERR_[A-Z_]+/.exec(msg);
  if (net) return navigationFailed(`${ctx.what} failed: ${net[0]}`, 'net_error', { error: net[0] });
  return navigationFailed(`${ctx.what} failed: ${msg.split('\n')[0]!.slice(0, 300)}`, isTargetGone(e) ? 'target_closed' : 'page_error');
}

/** Reject with a puppeteer TimeoutError after `ms` (then mapped like any other timeout); `onTimeout` may clean up. */
export async function withDeadline<T>(work: Promise<T>, ms: number, what: string, onTimeout?: () => Promise<void> | void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void Promise.resolve(onTimeout?.()).catch(() => {});
      reject(new TimeoutError(`${what}: timeout of ${ms} ms exceeded`));
    }, ms);
  });
  work.catch(() => {}); // a late failure after the deadline has no one to report to
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
