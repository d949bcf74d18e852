import { z } from 'zod';

export const CreateUserBody = z.object({
  username: z.string().trim().min(1).max(30),
  email: z.string().trim().email().max(320).optional(),
  name: z.string().trim().min(1).max(100).optional(),
  is_server_admin: z.boolean().optional(),
  /** Also mint a PAT for the new user (default true): the way a self-hosted admin hands out access. */
  issue_token: z.boolean().optional(),
});

export const AdminUser = z.object({
  id: z.string(),
  username: z.string(),
  email: z.string().nullable(),
  name: z.string(),
  is_server_admin: z.boolean(),
  status: z.string(),
  created_at: z.string(),
});

export const CreateUserResponse = z.object({ user: AdminUser, token: z.string().nullable() });
export const ListUsersResponse = z.object({ users: z.array(AdminUser), limit: z.number(), offset: z.number() });
