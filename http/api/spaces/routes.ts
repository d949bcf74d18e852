import { z } from 'zod';
import { badRequest, notFound } from '../../../runtime/errors.ts';
import { pageQuery } from '../../pagination.ts';
import { created } from '../../reply.ts';
import { route } from '../../route.ts';
import { ADMIN, ALL, OWNER, requireSpace } from './access.ts';
import { exportSpace } from './export.ts';
import { createTeamSpace, deleteTeamSpace, listSpacesForUser, updateSpace } from './queries.ts';
import {
  CreateSpaceBody,
  CreateSpaceResponse,
  ExportResponse,
  ListSpacesResponse,
  ModelResponse,
  SidebarResponse,
  SpaceAndRoleResponse,
  SpaceResponse,
  SuccessResponse,
  UpdateModelBody,
  UpdateSpaceBody,
} from './schemas.ts';
import { sidebarItems } from './sidebar.ts';
import { spaceView, spaceWithRole } from './views.ts';

/**
 * The `spaces` family: CRUD, model settings, export and sidebar of a space. `:spaceId` is an id, a slug or `me`
 * (resolved by requireSpace). A non-member always gets 404 "Space not found"; a member lacking the role for PATCH or
 * DELETE gets the same 404, as the original does (spec 2.5).
 */
const family = 'spaces';

export const spacesRoutes = () => [
  route({
    method: 'GET',
    path: '/api/spaces',
    family,
    summary: 'List the spaces the caller is a member of (personal space first, then by name)',
    query: z.object(pageQuery(20, 100)),
    response: ListSpacesResponse,
    async handler(c) {
      const { limit, offset } = c.query;
      // One row more than asked tells whether another page exists without a COUNT.
      const rows = await listSpacesForUser(c.deps.sql, c.auth.userId, limit + 1, offset);
      const page = rows.slice(0, limit);
      return { spaces: page.map(({ role, ...s }) => spaceWithRole(s, role)), limit, offset, has_more: rows.length > limit };
    },
  }),
  route({
    method: 'POST',
    path: '/api/spaces',
    family,
    summary: 'Create a team space (caller becomes owner) with its default repository',
    body: CreateSpaceBody,
    response: CreateSpaceResponse,
    status: 201,
    async handler(c) {
      const { space, repository } = await createTeamSpace(c.deps.sql, {
        ownerId: c.auth.userId,
        name: c.body.name,
        description: c.body.description ?? null,
        slug: c.body.slug,
      });
      return created({ space: spaceView(space), repository });
    },
  }),
  route({
    method: 'GET',
    path: '/api/spaces/me',
    family,
    summary: "The caller's personal space",
    response: SpaceAndRoleResponse,
    async handler(c) {
      const { space, role } = await requireSpace(c.deps.sql, c.auth.userId, 'me');
      return { space: spaceView(space), role };
    },
  }),
  route({
    method: 'GET',
    path: '/api/spaces/:spaceId',
    family,
    summary: 'A space and the caller’s role in it',
    response: SpaceAndRoleResponse,
    async handler(c) {
      // The benchmark route: exactly the one membership+space query requireSpace makes, nothing else.
      const { space, role } = await requireSpace(c.deps.sql, c.auth.userId, c.params.spaceId!, ALL);
      return { space: spaceView(space), role };
    },
  }),
  route({
    method: 'PATCH',
    path: '/api/spaces/:spaceId',
    family,
    summary: 'Update a space (owner/admin)',
    body: UpdateSpaceBody,
    response: SpaceResponse,
    async handler(c) {
      const { space } = await requireSpace(c.deps.sql, c.auth.userId, c.params.spaceId!, ADMIN);
      const patch = { ...c.body };
      if (space.type === 'user' && patch.slug !== undefined) {
        // The personal space's slug is the username; renaming goes through the username rules and their checks.
        if (patch.slug !== space.slug.toLowerCase()) {
          throw badRequest('The personal space slug is your username; change it with PATCH /api/me/username');
        }
        delete patch.slug;
        // Only the unchanged slug was sent: nothing to write.
        if (Object.values(patch).every((v) => v === undefined)) return { space: spaceView(space) };
      }
      return { space: spaceView(await updateSpace(c.deps.sql, space.id, patch)) };
    },
  }),
  route({
    method: 'DELETE',
    path: '/api/spaces/:spaceId',
    family,
    summary: 'Delete a team space and everything in it (owner)',
    response: SuccessResponse,
    async handler(c) {
      const { space } = await requireSpace(c.deps.sql, c.auth.userId, c.params.spaceId!, OWNER);
      // The personal space is the user's account row: deleting it would delete the user. 400, since no role or
      // retry can make this request succeed.
      if (space.type === 'user') throw badRequest('The personal space cannot be deleted');
      if (!(await deleteTeamSpace(c.deps.sql, space.id))) throw notFound('Space');
      return { success: true as const };
    },
  }),
  route({
    method: 'GET',
    path: '/api/spaces/:spaceId/export',
    family,
    summary: 'Export document of the space (space, members, repositories)',
    response: ExportResponse,
    handler: (c) => exportSpace(c.deps.sql, c.auth.userId, c.params.spaceId!),
  }),
  route({
    method: 'GET',
    path: '/api/spaces/:spaceId/model',
    family,
    summary: 'AI model settings of the space',
    response: ModelResponse,
    async handler(c) {
      const { space } = await requireSpace(c.deps.sql, c.auth.userId, c.params.spaceId!, ALL);
      return { model: space.ai_model, provider: space.ai_provider };
    },
  }),
  route({
    method: 'PATCH',
    path: '/api/spaces/:spaceId/model',
    family,
    summary: 'Update the AI model settings of the space (owner/admin)',
    body: UpdateModelBody,
    response: ModelResponse,
    async handler(c) {
      const { space } = await requireSpace(c.deps.sql, c.auth.userId, c.params.spaceId!, ADMIN);
      const row = await updateSpace(c.deps.sql, space.id, { ai_model: c.body.model, ai_provider: c.body.provider });
      return { model: row.ai_model, provider: row.ai_provider };
    },
  }),
  route({
    method: 'GET',
    path: '/api/spaces/:spaceId/sidebar-items',
    family,
    summary: 'Sidebar items of the space (its repositories; more kinds as they land)',
    response: SidebarResponse,
    async handler(c) {
      const { space } = await requireSpace(c.deps.sql, c.auth.userId, c.params.spaceId!, ALL);
      return { items: await sidebarItems(c.deps.sql, space) };
    },
  }),
];
