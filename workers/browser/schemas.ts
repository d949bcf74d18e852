import { z } from 'zod';

/**
 * Inputs of every session operation, the one source of truth for both this library (which parses what it is given)
 * and the HTTP routes of part 2 (which declare them as `body:`). Action schemas are in actions.ts.
 */

export const LIMITS = {
  /** Spec 6.4 agent tools: extract output is cut at 50,000 characters, HTML at 100,000. */
  extractChars: 50_000,
  extractElements: 1_000,
  htmlChars: 100_000,
  /** Chromium cannot paint a layer taller than 16,384 px; a "full page" beyond that is cut there. */
  maxCapturePx: 16_384,
  maxScreenshotBytes: 10 * 1024 * 1024,
  maxPdfBytes: 20 * 1024 * 1024,
  defaultTimeoutMs: 30_000,
  maxTimeoutMs: 120_000,
  urlChars: 8_192,
} as const;

export const ViewportSchema = z.object({
  width: z.number().int().min(100).max(3840),
  height: z.number().int().min(100).max(4320),
});
export type Viewport = z.infer<typeof ViewportSchema>;
export const DEFAULT_VIEWPORT: Viewport = { width: 1280, height: 720 };

export const UrlSchema = z.string().min(1).max(LIMITS.urlChars);
export const TimeoutSchema = z.number().int().min(1).max(LIMITS.maxTimeoutMs);

export const CreateSessionSchema = z.object({
  url: UrlSchema.optional(),
  viewport: ViewportSchema.optional(),
});
export type CreateSessionInput = z.infer<typeof CreateSessionSchema>;

/** Playwright's names, as in the original; `networkidle` = no request for 500 ms, `commit` = response received. */
export const WaitUntilSchema = z.enum(['load', 'domcontentloaded', 'networkidle', 'commit']);
export type WaitUntil = z.infer<typeof WaitUntilSchema>;

export const GotoSchema = z.object({
  url: UrlSchema,
  waitUntil: WaitUntilSchema.default('load'),
  timeout: TimeoutSchema.default(LIMITS.defaultTimeoutMs),
});
export type GotoInput = z.input<typeof GotoSchema>;

export const GotoResultSchema = z.object({ url: z.string(), title: z.string(), status: z.number().int().nullable() });
export type GotoResult = z.infer<typeof GotoResultSchema>;

/** `evaluate` wins over `selector` when both are given (as in the original); neither is a 422, not a 500. */
export const ExtractSchema = z
  .object({
    selector: z.string().min(1).max(2_000).optional(),
    evaluate: z.string().min(1).max(100_000).optional(),
    timeout: TimeoutSchema.default(LIMITS.defaultTimeoutMs),
  })
  .refine((v) => v.selector !== undefined || v.evaluate !== undefined, { message: 'Either selector or evaluate must be provided', path: ['selector'] });
export type ExtractInput = z.input<typeof ExtractSchema>;

export const ExtractedElementSchema = z.object({ tag: z.string(), text: z.string(), attributes: z.record(z.string(), z.string()) });
export const ExtractResultSchema = z.object({
  data: z.unknown(),
  /** True when the output was cut at the cap; for `evaluate`, `data` is then the cut JSON text. */
  truncated: z.boolean(),
});
export type ExtractResult = z.infer<typeof ExtractResultSchema>;

export const HtmlResultSchema = z.object({ html: z.string(), url: z.string(), truncated: z.boolean() });
export type HtmlResult = z.infer<typeof HtmlResultSchema>;

const px = z.number().min(0).max(LIMITS.maxCapturePx);
export const ClipSchema = z.object({ x: px, y: px, width: px.positive(), height: px.positive() });

export const ScreenshotSchema = z
  .object({
    fullPage: z.boolean().default(false),
    clip: ClipSchema.optional(),
    timeout: TimeoutSchema.default(LIMITS.defaultTimeoutMs),
  })
  .refine((v) => !(v.fullPage && v.clip), { message: 'fullPage and clip cannot be combined', path: ['clip'] });
export type ScreenshotInput = z.input<typeof ScreenshotSchema>;

export const PdfSchema = z.object({
  format: z.enum(['A4', 'Letter', 'Legal', 'A3', 'A5', 'Tabloid']).default('A4'),
  landscape: z.boolean().default(false),
  printBackground: z.boolean().default(true),
  timeout: TimeoutSchema.default(LIMITS.defaultTimeoutMs),
});
export type PdfInput = z.input<typeof PdfSchema>;
