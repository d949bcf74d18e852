import { z } from 'zod';

export const AuthMeResponse = z.object({
  user: z.object({
    email: z.string().nullable(),
    username: z.string(),
    display_name: z.string(),
    avatar_url: z.string().nullable(),
    auth_identities: z.array(z.object({ provider: z.string(), email: z.string().nullable() })),
  }),
});

export const SetupUsernameBody = z.object({ username: z.string() });
export const SetupUsernameResponse = z.object({ success: z.literal(true), username: z.string() });

/** Strict so a misspelt field is a 422 rather than "No updates provided". */
export const ProfileBody = z.strictObject({
  display_name: z.string().trim().min(1, 'display_name must not be empty').max(100).optional(),
  avatar_url: z.string().trim().max(2048).optional(),
});

export const SuccessResponse = z.object({ success: z.literal(true) });
