import { z } from 'zod';

/** The PAT may come in the body or as `Authorization: Bearer`; the body wins when both are present. */
export const SignInBody = z.strictObject({ token: z.string().min(1).max(200) }).optional();

export const SignInResponse = z.object({
  user: z.object({ id: z.string(), username: z.string() }),
  expires_at: z.string(),
});

export const SignOutResponse = z.object({ success: z.literal(true) });
