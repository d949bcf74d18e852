import { z } from 'zod';
import { toIso } from '../../../runtime/ids.ts';
import type { Role, SpaceRow } from './access.ts';

/** The public shape of a space; `kind` is the account type (spec 9: API `kind` = user/team/system). */
export const SpaceSchema = z.object({
  id: z.string(),
  kind: z.enum(['user', 'team', 'system']),
  name: z.string(),
  slug: z.string(),
  description: z.string().nullable(),
  picture: z.string().nullable(),
  owner_id: z.string().nullable(),
  is_personal: z.boolean(),
  default_repository_id: z.string().nullable(),
  ai_model: z.string(),
  ai_provider: z.string(),
  security_posture: z.enum(['standard', 'restricted_egress']),
  created_at: z.string(),
  updated_at: z.string(),
});
export type SpaceView = z.infer<typeof SpaceSchema>;

export const RoleSchema = z.enum(['owner', 'admin', 'editor', 'viewer']);

export function spaceView(s: SpaceRow): SpaceView {
  return {
    id: s.id,
    kind: s.type,
    name: s.name,
    slug: s.slug,
    description: s.description,
    picture: s.picture,
    // A personal space is owned by its user, whose account row it is.
    owner_id: s.type === 'user' ? s.id : s.owner_account_id,
    is_personal: s.type === 'user',
    default_repository_id: s.default_repository_id,
    ai_model: s.ai_model,
    ai_provider: s.ai_provider,
    security_posture: s.security_posture,
    created_at: toIso(s.created_at)!,
    updated_at: toIso(s.updated_at)!,
  };
}

export const spaceWithRole = (s: SpaceRow, role: Role) => ({ ...spaceView(s), role });
