import { z } from 'zod';
import { badRequest, conflict, forbidden, notFound } from '../../../runtime/errors.ts';
import { newId, toIso } from '../../../runtime/ids.ts';
import { pageQuery } from '../../pagination.ts';
import { created } from '../../reply.ts';
import { route } from '../../route.ts';
import { ADMIN, ALL, atLeast, requireSpace } from '../spaces/access.ts';
import { onMemberAdded } from './hooks.ts';
import { deleteMember, findMember, findUser, insertMember, listMembers, updateMemberRole, type MemberRow } from './queries.ts';
import { checkAdd, checkRemoval, checkRoleChange } from './rules.ts';
import {
  AddMemberBody,
  ListMembersResponse,
  MemberResponse,
  SuccessResponse,
  UpdateMemberBody,
  type MemberView,
} from './schemas.ts';

/**
 * The `spaces.members` family. Unlike the rest of a space, member management answers 403 to a member lacking the
 * role (spec 2.5); a non-member still gets 404 "Space not found". The who-may-do-what matrix is in rules.ts.
 * Role changes and removals run in one transaction holding the target's membership row lock, so the rule is
 * checked against the role the row has when it is written.
 */
const family = 'spaces.members';
const DENY = { denyWith: 'forbidden' as const, forbiddenMessage: 'Only owners and admins can manage members' };

const memberView = (m: MemberRow): MemberView => ({
  user_id: m.user_id,
  username: m.username,
  name: m.name,
  email: m.email,
  picture: m.picture,
  role: m.role,
  joined_at: toIso(m.joined_at)!,
});

export const spaceMembersRoutes = () => [
  route({
    method: 'GET',
    path: '/api/spaces/:spaceId/members',
    family,
    summary: 'Members of the space (owner first, then by role and join date)',
    query: z.object(pageQuery(100, 500)),
    response: ListMembersResponse,
    async handler(c) {
      const { limit, offset } = c.query;
      const { space } = await requireSpace(c.deps.sql, c.auth.userId, c.params.spaceId!, ALL);
      const rows = await listMembers(c.deps.sql, space.id, limit + 1, offset);
      return { members: rows.slice(0, limit).map(memberView), limit, offset, has_more: rows.length > limit };
    },
  }),
  route({
    method: 'POST',
    path: '/api/spaces/:spaceId/members',
    family,
    summary: 'Add a member by email or username (owner/admin)',
    body: AddMemberBody,
    response: MemberResponse,
    status: 201,
    async handler(c) {
      const { space, role: actorRole } = await requireSpace(c.deps.sql, c.auth.userId, c.params.spaceId!, ADMIN, DENY);
      // A personal space is one user's account; sharing work means creating a team space. 400: no role fixes this.
      if (space.type === 'user') throw badRequest('A personal space has no other members; create a team space to collaborate');
      const denied = checkAdd(actorRole, c.body.role);
      if (denied) throw denied;
      const user = await findUser(c.deps.sql, c.body);
      if (!user) throw notFound('User');
      const row = await insertMember(c.deps.sql, newId(), space.id, user.id, c.body.role);
      if (!row) throw conflict('User is already a member of this space');
      try {
        await onMemberAdded(c.deps, { spaceId: space.id, spaceName: space.name, userId: user.id, role: c.body.role, addedBy: c.auth.userId });
      } catch (err) {
        c.log.warn({ err, space_id: space.id }, 'onMemberAdded hook failed');
      }
      return created({ member: memberView({ ...user, user_id: user.id, role: c.body.role, joined_at: row.joined_at }) });
    },
  }),
  route({
    method: 'PATCH',
    path: '/api/spaces/:spaceId/members/:username',
    family,
    summary: "Change a member's role (owner/admin)",
    body: UpdateMemberBody,
    response: MemberResponse,
    handler: (c) =>
      c.deps.sql.begin(async (tx) => {
        const { space, role: actorRole } = await requireSpace(tx, c.auth.userId, c.params.spaceId!, ADMIN, DENY);
        const target = await findMember(tx, space.id, c.params.username!, true);
        if (!target) throw notFound('Member');
        const denied = checkRoleChange({ id: c.auth.userId, role: actorRole }, target, c.body.role);
        if (denied) throw denied;
        if (target.role !== c.body.role) await updateMemberRole(tx, space.id, target.user_id, c.body.role);
        return { member: memberView({ ...target, role: c.body.role }) };
      }),
  }),
  route({
    method: 'DELETE',
    path: '/api/spaces/:spaceId/members/:username',
    family,
    summary: 'Remove a member (owner/admin), or leave the space (any member but the owner)',
    response: SuccessResponse,
    handler: (c) =>
      c.deps.sql.begin(async (tx) => {
        // Any member may reach this point, because leaving needs no role; rules.ts decides the rest.
        const { space, role: actorRole } = await requireSpace(tx, c.auth.userId, c.params.spaceId!, ALL);
        const target = await findMember(tx, space.id, c.params.username!, true);
        if (!target) throw atLeast(actorRole, ADMIN) ? notFound('Member') : forbidden('Only owners and admins can remove members');
        const denied = checkRemoval({ id: c.auth.userId, role: actorRole }, target);
        if (denied) throw denied;
        await deleteMember(tx, space.id, target.user_id);
        return { success: true as const };
      }),
  }),
];
