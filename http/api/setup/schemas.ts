import { z } from 'zod';

export const SetupStatusResponse = z.object({
  setup_completed: z.boolean(),
  username: z.string(),
  email: z.string().nullable(),
  name: z.string(),
});

export const SetupUsernameBody = z.object({ username: z.string().max(100) });

export const CompleteSetupResponse = z.object({ success: z.literal(true), username: z.string() });

export const CheckUsernameResponse = z.object({ available: z.boolean(), error: z.string().optional() });
