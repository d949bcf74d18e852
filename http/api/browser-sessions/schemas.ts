import { z } from 'zod';
import { ClipSchema, CreateSessionSchema, PdfSchema } from '../../../workers/browser/schemas.ts';

export { CreateSessionSchema as CreateBrowserSessionBody };

export const BrowserSessionSchema = z.object({
  sessionId: z.string(),
  spaceId: z.string(),
  userId: z.string(),
  status: z.enum(['starting', 'active', 'stopped', 'failed']),
  /** Why it ended when nobody asked: idle_timeout, max_lifetime, worker_lost, browser_crashed, ... (deleted after DELETE). */
  reason: z.string().nullable(),
  reasonMessage: z.string().nullable(),
  url: z.string(),
  viewport: z.object({ width: z.number().int(), height: z.number().int() }),
  createdAt: z.string(),
  lastUsedAt: z.string(),
  expiresAt: z.string(),
  endedAt: z.string().nullable(),
});

/** No proxyToken: the original leaked its container token here; ours has none to leak. */
export const CreatedSchema = z.object({ sessionId: z.string(), ok: z.literal(true), session: BrowserSessionSchema });

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** GET screenshot options as query parameters: `fullPage=true`, or `clip=x,y,width,height`. */
export const ScreenshotQuery = z.object({
  fullPage: bool.optional(),
  clip: z
    .string()
    .regex(/^\d+(\.\d+)?(,\d+(\.\d+)?){3}$/, 'clip must be x,y,width,height')
    .transform((v) => {
      const [x, y, width, height] = v.split(',').map(Number) as [number, number, number, number];
      return { x, y, width, height };
    })
    .pipe(ClipSchema)
    .optional(),
  timeout: z.coerce.number().int().min(1).max(120_000).optional(),
});

/** PDF options; the whole body is optional (the original ignored it). */
export const PdfBody = PdfSchema.partial().strict().optional();

export const DestroyedSchema = z.object({ ok: z.literal(true), message: z.string(), session: BrowserSessionSchema });
