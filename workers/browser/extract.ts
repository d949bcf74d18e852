import type { CDPSession, Page } from 'puppeteer-core';
import { AppError } from '../../runtime/errors.ts';
import { validation } from './errors.ts';
import { EXTRACT_ELEMENTS, OUTER_HTML_CAPPED, SERIALIZE_CAPPED, callInPage, callOnHandle } from './inpage.ts';
import { isTargetGone, mapPageError, withDeadline } from './page-errors.ts';
import { LIMITS, type ExtractResult, type HtmlResult } from './schemas.ts';

/**
 * `extract` and `html`, both capped inside the page so a huge document never crosses the DevTools pipe whole.
 * `evaluate` runs the caller's expression in the page (the page is the caller's own; the guard still covers any
 * request it makes). A function expression is called, a promise awaited, as Playwright did for the original.
 * An expression that runs past its timeout is stopped with Runtime.terminateExecution, so a `while(true){}` costs
 * the caller a 504 and leaves the session usable.
 */

export async function extractSelector(page: Page, selector: string, timeoutMs: number): Promise<ExtractResult> {
  try {
    return await withDeadline(callInPage<ExtractResult>(page, EXTRACT_ELEMENTS, selector, LIMITS.extractElements, LIMITS.extractChars), timeoutMs, 'extract');
  } catch (err) {
    if (/not a valid selector/i.test(String(err))) throw validation(`Invalid selector ${JSON.stringify(selector)}`, 'selector', 'invalid_selector');
    throw mapPageError(err, { what: 'Extract', timeoutMs });
  }
}

export async function extractEvaluate(page: Page, cdp: CDPSession, expression: string, timeoutMs: number): Promise<ExtractResult> {
  const stop = async () => {
    await cdp.send('Runtime.terminateExecution').catch(() => {});
  };
  try {
    const handle = await withDeadline(page.evaluateHandle(expression), timeoutMs, 'evaluate', stop);
    try {
      const out = await withDeadline(
        callOnHandle<{ json: string; truncated: boolean }>(page, handle, `async (v, max) => { if (typeof v === 'function') v = await v(); return (${SERIALIZE_CAPPED})(v, max); }`, LIMITS.extractChars),
        timeoutMs,
        'evaluate',
        stop,
      );
      return out.truncated ? { data: out.json, truncated: true } : { data: JSON.parse(out.json) as unknown, truncated: false };
    } finally {
      await handle.dispose().catch(() => {});
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    // An exception thrown by the caller's own code is their mistake, not a page failure.
    if (!/timeout|timed out/i.test(msg) && !isTargetGone(err) && !/Execution context was destroyed/i.test(msg)) {
      throw validation(`Evaluation failed: ${msg.split('\n')[0]!.slice(0, 500)}`, 'evaluate', 'evaluate_error');
    }
    throw mapPageError(err, { what: 'Evaluate', timeoutMs });
  }
}

export async function pageHtml(page: Page, timeoutMs: number, maxChars: number = LIMITS.htmlChars): Promise<HtmlResult> {
  try {
    return await withDeadline(callInPage<HtmlResult>(page, OUTER_HTML_CAPPED, Math.min(maxChars, LIMITS.htmlChars)), timeoutMs, 'html');
  } catch (err) {
    throw mapPageError(err, { what: 'Reading the HTML', timeoutMs });
  }
}
