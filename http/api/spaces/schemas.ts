import { z } from 'zod';
import { isReservedName } from '../../../runtime/identity/username.ts';
import { SLUG } from '../../../runtime/ids.ts';
import { RoleSchema, SpaceSchema } from './views.ts';

/**
 * Request and response shapes of the `spaces` family. The provider list is ours (the original accepts any string):
 * a fixed list lets the run executor pick a client without guessing, and a typo answers 422 instead of failing later.
 */
export const AI_PROVIDERS = ['openai', 'anthropic', 'google', 'openai-compatible', 'ollama', 'demo'] as const;
export const ProviderSchema = z.enum(AI_PROVIDERS);

// Model names seen in the wild: "gpt-5.4-nano", "claude-sonnet-4-6", "models/gemini-2.0-flash", "llama3:8b",
// "meta-llama/Llama-3-70b-Instruct", "org@model+v2". No whitespace or control characters: the string ends up in
// provider URLs and logs.
export const ModelNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$/, 'Model name may contain letters, digits and . _ : / @ + - only');

const NameSchema = z.string().trim().min(1).max(100);
/** Empty string clears the description, like null. */
const DescriptionSchema = z.string().trim().max(2000).transform((s) => (s === '' ? null : s));

/**
 * Slugs share one namespace with usernames (accounts_slug_key), and resolve in paths next to `me`: reserved names are
 * refused so that `/api/spaces/me` or a slug named like a route can never be ambiguous.
 */
export const SlugSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(SLUG, 'Slug must be 1-32 characters of a-z, 0-9 and -, starting with a letter or digit')
  .refine((s) => !isReservedName(s), 'This slug is reserved');

export const CreateSpaceBody = z.object({
  name: NameSchema,
  slug: SlugSchema.optional(),
  description: DescriptionSchema.nullable().optional(),
});

const atLeastOne = (o: Record<string, unknown>) => Object.values(o).some((v) => v !== undefined);

export const UpdateSpaceBody = z
  .object({
    name: NameSchema.optional(),
    description: DescriptionSchema.nullable().optional(),
    slug: SlugSchema.optional(),
    ai_model: ModelNameSchema.optional(),
    ai_provider: ProviderSchema.optional(),
    security_posture: z.enum(['standard', 'restricted_egress']).optional(),
  })
  .refine(atLeastOne, 'Give at least one field to update');
export type UpdateSpace = z.output<typeof UpdateSpaceBody>;

export const UpdateModelBody = z
  .object({ model: ModelNameSchema.optional(), provider: ProviderSchema.optional() })
  .refine(atLeastOne, 'Give model, provider or both');

export const SpaceWithRoleSchema = SpaceSchema.extend({ role: RoleSchema });

export const ListSpacesResponse = z.object({
  spaces: z.array(SpaceWithRoleSchema),
  limit: z.number(),
  offset: z.number(),
  has_more: z.boolean(),
});
export const SpaceAndRoleResponse = z.object({ space: SpaceSchema, role: RoleSchema });
export const SpaceResponse = z.object({ space: SpaceSchema });
export const CreateSpaceResponse = z.object({
  space: SpaceSchema,
  repository: z.object({ id: z.string(), name: z.string() }),
});
export const ModelResponse = z.object({ model: z.string(), provider: z.string() });
export const SuccessResponse = z.object({ success: z.literal(true) });

export const SidebarItemSchema = z.object({
  /** What the item is; new kinds (thread, app, ...) join as their families land. */
  type: z.enum(['repository']),
  id: z.string(),
  title: z.string(),
  /** API path of the item (stable across renames, unlike a name-based web path). */
  href: z.string(),
});
export const SidebarResponse = z.object({ items: z.array(SidebarItemSchema) });
export type SidebarItem = z.infer<typeof SidebarItemSchema>;

export const ExportRepositorySchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  visibility: z.string(),
  default_branch: z.string(),
  is_default: z.boolean(),
  created_at: z.string(),
  updated_at: z.string(),
});

export const ExportMemberSchema = z.object({
  user_id: z.string(),
  username: z.string(),
  name: z.string(),
  role: RoleSchema,
  joined_at: z.string(),
});

export const ExportResponse = z.object({
  format: z.literal('takos.space-export'),
  version: z.number(),
  exported_at: z.string(),
  space: SpaceSchema,
  members: z.array(ExportMemberSchema),
  repositories: z.array(ExportRepositorySchema),
});
