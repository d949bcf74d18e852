import type { Page } from 'puppeteer-core';
import { validation } from './errors.ts';
import { PAGE_SIZE, callInPage } from './inpage.ts';
import { mapPageError, withDeadline } from './page-errors.ts';
import { LIMITS, type Viewport } from './schemas.ts';

/**
 * Screenshots (PNG) and PDFs with output caps. A full-page capture is cut at `maxCapturePx` tall and at
 * `MAX_PIXELS` in area (a 16k x 16k RGBA bitmap would be 1 GB in the renderer); `truncated` says so. A clip larger
 * than the area cap, or an image/PDF larger than its byte cap, is refused with 422 rather than produced.
 */

export const MAX_PIXELS = 40_000_000;

export interface Clip {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Png {
  png: Buffer;
  width: number;
  height: number;
  truncated: boolean;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height from a PNG's IHDR chunk. */
export function pngSize(buf: Buffer): { width: number; height: number } | null {
  if (buf.length < 24 || !buf.subarray(0, 8).equals(PNG_SIGNATURE) || buf.toString('ascii', 12, 16) !== 'IHDR') return null;
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

export async function screenshot(page: Page, viewport: Viewport, opts: { fullPage: boolean; clip?: Clip | undefined; timeout: number }): Promise<Png> {
  if (opts.clip && opts.clip.width * opts.clip.height > MAX_PIXELS) {
    throw validation(`clip area must not exceed ${MAX_PIXELS} pixels`, 'clip', 'too_large');
  }
  try {
    let clip = opts.clip;
    let truncated = false;
    if (opts.fullPage) {
      const size = await withDeadline(callInPage<{ width: number; height: number }>(page, PAGE_SIZE), opts.timeout, 'screenshot');
      const width = Math.min(size.width, LIMITS.maxCapturePx);
      const maxHeight = Math.min(LIMITS.maxCapturePx, Math.floor(MAX_PIXELS / Math.max(1, width)));
      truncated = size.height > maxHeight || size.width > width;
      clip = { x: 0, y: 0, width: Math.max(width, viewport.width), height: Math.min(Math.max(size.height, viewport.height), maxHeight) };
    }
    const data = await withDeadline(
      // optimizeForSpeed: Chromium's fast zlib setting; the PNG is larger, its encoding a fraction of the time (a
      // 1280x720 capture was 60-140 ms of the 150 ms from session create to first screenshot, bench/browser).
      page.screenshot({ type: 'png', optimizeForSpeed: true, ...(clip ? { clip, captureBeyondViewport: true } : {}) }),
      opts.timeout,
      'screenshot',
    );
    const png = Buffer.from(data);
    if (png.length > LIMITS.maxScreenshotBytes) throw validation(`screenshot is larger than ${LIMITS.maxScreenshotBytes} bytes; use a smaller clip`, 'clip', 'output_too_large');
    const dims = pngSize(png) ?? { width: 0, height: 0 };
    return { png, ...dims, truncated };
  } catch (err) {
    throw mapPageError(err, { what: 'Screenshot', timeoutMs: opts.timeout });
  }
}

export interface PdfOptions {
  format: 'A4' | 'Letter' | 'Legal' | 'A3' | 'A5' | 'Tabloid';
  landscape: boolean;
  printBackground: boolean;
  timeout: number;
}

export async function pdf(page: Page, opts: PdfOptions): Promise<Buffer> {
  try {
    const data = await withDeadline(
      page.pdf({ format: opts.format, landscape: opts.landscape, printBackground: opts.printBackground, timeout: opts.timeout }),
      opts.timeout + 1_000,
      'pdf',
    );
    const buf = Buffer.from(data);
    if (buf.length > LIMITS.maxPdfBytes) throw validation(`PDF is larger than ${LIMITS.maxPdfBytes} bytes`, 'format', 'output_too_large');
    return buf;
  } catch (err) {
    throw mapPageError(err, { what: 'PDF', timeoutMs: opts.timeout });
  }
}
