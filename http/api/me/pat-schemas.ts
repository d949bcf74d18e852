import { z } from 'zod';
import { ALL_SCOPES } from '../../../runtime/auth/pat.ts';

const KNOWN = new Set<string>(ALL_SCOPES);

function parseList(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

/**
 * `"*"`, a JSON-array string of scopes (the stored form, spec 2.2) or a real array; normalised to the stored string.
 * The original stored whatever string it was given, and anything but "*" or a JSON array made the token unusable
 * without telling anyone; here such input is a 422 naming the problem.
 */
export const PatScopes = z.union([z.literal('*'), z.string(), z.array(z.string())]).transform((raw, ctx): string => {
  if (raw === '*') return '*';
  const list = parseList(raw);
  if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) {
    ctx.addIssue({ code: 'custom', message: 'scopes must be "*" or a list of scope names (an array or a JSON array string)' });
    return z.NEVER;
  }
  if (list.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'scopes must name at least one scope (use "*" for full access)' });
    return z.NEVER;
  }
  const unknown = list.filter((s) => !KNOWN.has(s));
  if (unknown.length > 0) {
    ctx.addIssue({ code: 'custom', message: `Unknown scope(s): ${unknown.join(', ')}. Known scopes: ${ALL_SCOPES.join(', ')}` });
    return z.NEVER;
  }
  return JSON.stringify([...new Set(list)]);
});

/** The original ignored an unparsable `expiresAt` (the token then never expired); here it is a 422, as is a past date. */
const ExpiresAt = z.iso.datetime({ offset: true }).transform((s, ctx) => {
  const d = new Date(s);
  if (d.getTime() <= Date.now()) {
    ctx.addIssue({ code: 'custom', message: 'expiresAt must be in the future' });
    return z.NEVER;
  }
  return d;
});

/** Strict, so that e.g. `expires_at` (snake case) is refused instead of silently creating a token that never expires. */
export const CreatePatBody = z.strictObject({
  name: z.string().trim().min(1, 'name is required').max(100),
  scopes: PatScopes.optional(),
  expiresAt: ExpiresAt.nullable().optional(),
});

export const CreatedPatResponse = z.object({
  id: z.string(),
  name: z.string(),
  token: z.string(),
  token_prefix: z.string(),
  scopes: z.string(),
  expires_at: z.string().nullable(),
  created_at: z.string(),
});

export const PatView = z.object({
  id: z.string(),
  name: z.string(),
  token_prefix: z.string(),
  scopes: z.string(),
  expires_at: z.string().nullable(),
  last_used_at: z.string().nullable(),
  created_at: z.string(),
});

export const ListPatsResponse = z.object({ tokens: z.array(PatView) });
export const SuccessResponse = z.object({ success: z.literal(true) });
