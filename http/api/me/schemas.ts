import { z } from 'zod';
import { SpaceSchema } from '../spaces/views.ts';
import { ACTIVITY_VISIBILITY } from './settings-store.ts';

export const MeResponse = z.object({
  id: z.string(),
  email: z.string().nullable(),
  name: z.string(),
  username: z.string(),
  picture: z.string().nullable(),
  setup_completed: z.boolean(),
  created_at: z.string(),
});

export const PersonalSpaceResponse = z.object({ space: SpaceSchema });

export const SettingsResponse = z.object({
  setup_completed: z.boolean(),
  auto_update_enabled: z.boolean(),
  private_account: z.boolean(),
  activity_visibility: z.enum(ACTIVITY_VISIBILITY),
});

/** Strict: a misspelt key is a 422, not a silent no-op. Visibility is matched case-insensitively, as the original did. */
export const PatchSettingsBody = z
  .strictObject({
    setup_completed: z.boolean().optional(),
    auto_update_enabled: z.boolean().optional(),
    private_account: z.boolean().optional(),
    activity_visibility: z.string().trim().toLowerCase().pipe(z.enum(ACTIVITY_VISIBILITY)).describe('public, followers or private (case-insensitive)').optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), { message: 'At least one setting must be given' });

export const UsernameBody = z.object({ username: z.string().max(100) });

export const UsernameResponse = z.object({ success: z.literal(true), username: z.string() });
