import { z } from 'zod';
import { AppError, badRequest } from '../../../runtime/errors.ts';
import { toIso } from '../../../runtime/ids.ts';
import { createPat, createUser } from '../../../runtime/identity/users.ts';
import { usernameError } from '../../../runtime/identity/username.ts';
import { pageQuery } from '../../pagination.ts';
import { created } from '../../reply.ts';
import { route, type AuthedCtx } from '../../route.ts';
import type { AdminUser} from './schemas.ts';
import { CreateUserBody, CreateUserResponse, ListUsersResponse } from './schemas.ts';

/**
 * Server administration for self-hosting (not in the Takos reference, which signs users in through Google only):
 * the admin created by `npm start` adds users and hands each a first token. Server admins only; everyone else 403.
 */
const requireServerAdmin = (c: AuthedCtx) => {
  if (!c.auth.isServerAdmin) throw new AppError('FORBIDDEN', 'Server administrator only');
};

type Row = { id: string; slug: string; email: string | null; name: string; is_server_admin: boolean; status: string; created_at: Date };
const view = (r: Row): z.infer<typeof AdminUser> => ({
  id: r.id, username: r.slug, email: r.email, name: r.name, is_server_admin: r.is_server_admin, status: r.status, created_at: toIso(r.created_at)!,
});

export const adminRoutes = () => [
  route({
    method: 'POST',
    path: '/api/admin/users',
    family: 'admin',
    summary: 'Create a user (server admin)',
    body: CreateUserBody,
    response: CreateUserResponse,
    status: 201,
    async handler(c) {
      requireServerAdmin(c);
      const err = usernameError(c.body.username);
      if (err) throw badRequest(err);
      const out = await c.deps.sql.begin(async (tx) => {
        const u = await createUser(tx, {
          username: c.body.username,
          email: c.body.email ?? null,
          name: c.body.name ?? c.body.username,
          isServerAdmin: c.body.is_server_admin ?? false,
          setupCompleted: true,
        });
        const pat = c.body.issue_token === false ? null : await createPat(tx, u.id, 'issued by server admin');
        return { user: view({ ...u, status: 'active' }), token: pat?.token ?? null };
      });
      return created(out);
    },
  }),
  route({
    method: 'GET',
    path: '/api/admin/users',
    family: 'admin',
    summary: 'List users (server admin)',
    query: z.object(pageQuery(50, 200)),
    response: ListUsersResponse,
    async handler(c) {
      requireServerAdmin(c);
      const rows = await c.deps.sql<Row[]>`
        SELECT id, slug, email, name, is_server_admin, status, created_at FROM accounts
        WHERE type = 'user' ORDER BY created_at, id LIMIT ${c.query.limit} OFFSET ${c.query.offset}`;
      return { users: rows.map(view), limit: c.query.limit, offset: c.query.offset };
    },
  }),
];
