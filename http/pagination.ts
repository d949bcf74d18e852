import { z } from 'zod';

/**
 * limit/offset as the shared helper of spec 1.3: above the max is clamped, zero, negative or garbage becomes the
 * default, never a 400. Each list passes its own default and max.
 */
export function pageQuery(def = 20, max = 100) {
  const toInt = (v: unknown, fallback: number) => {
    const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
    return Number.isFinite(n) && n > 0 ? n : fallback;
  };
  return {
    limit: z.unknown().optional().transform((v) => Math.min(toInt(v, def), max)),
    offset: z.unknown().optional().transform((v) => {
      const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : 0;
      return Number.isSafeInteger(n) ? n : 0;
    }),
  };
}
