import { z } from 'zod';
import { RoleSchema } from '../spaces/views.ts';

export const MemberSchema = z.object({
  user_id: z.string(),
  username: z.string(),
  name: z.string(),
  email: z.string().nullable(),
  picture: z.string().nullable(),
  role: RoleSchema,
  joined_at: z.string(),
});
export type MemberView = z.infer<typeof MemberSchema>;

/**
 * `owner` passes the schema on purpose: asking for it is a well-formed request the rules refuse with 400 (spec 2.5),
 * not a malformed body. Exactly one of email/username names the user, so a body can never point at two people.
 * Role defaults to viewer (least privilege) when omitted.
 */
export const AddMemberBody = z
  .object({
    email: z.string().trim().email().max(320).optional(),
    username: z.string().trim().min(1).max(64).optional(),
    role: RoleSchema.default('viewer'),
  })
  .refine((b) => (b.email === undefined) !== (b.username === undefined), 'Give either email or username (exactly one)');

export const UpdateMemberBody = z.object({ role: RoleSchema });

export const ListMembersResponse = z.object({
  members: z.array(MemberSchema),
  limit: z.number(),
  offset: z.number(),
  has_more: z.boolean(),
});
export const MemberResponse = z.object({ member: MemberSchema });
export const SuccessResponse = z.object({ success: z.literal(true) });
