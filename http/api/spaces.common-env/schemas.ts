import { z } from 'zod';

export const EnvEntrySchema = z.object({
  name: z.string(),
  secret: z.boolean(),
  /** The value, or "********" for a secret. */
  value: z.string(),
  /** camelCase, as the original answers. */
  updatedAt: z.string(),
});

export const ListEnvResponse = z.object({ env: z.array(EnvEntrySchema) });

export const PutEnvBody = z.object({
  /** Checked by the handler (trimmed, `[A-Za-z_][A-Za-z0-9_]*`, not reserved), with the original's 400 messages. */
  name: z.string().max(256),
  value: z.string().max(65_536),
  /** Omitted: a new variable is not secret, an existing one keeps its flag (the original un-secreted it). */
  secret: z.boolean().optional(),
});

export const SuccessResponse = z.object({ success: z.literal(true) });
