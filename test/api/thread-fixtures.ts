import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { newId } from '../../runtime/ids.ts';
import type { TestServer, TestUser } from '../harness.ts';

/**
 * Set-up shared by the thread test files: a team space whose members hold given roles, written straight into the
 * database (the membership rows are the contract, migration 0001), so these tests do not depend on the member
 * management routes; and thread/message creation through the real API.
 */
export type SpaceRole = 'owner' | 'admin' | 'editor' | 'viewer';

export async function teamSpace(s: TestServer, members: Array<[TestUser, SpaceRole]>): Promise<string> {
  const id = newId();
  const slug = `team-${randomBytes(4).toString('hex')}`;
  const owner = members.find(([, r]) => r === 'owner')?.[0] ?? null;
  await s.kernel.sql`INSERT INTO accounts (id, type, name, slug, owner_account_id) VALUES (${id}, 'team', ${slug}, ${slug}, ${owner?.id ?? null})`;
  for (const [u, role] of members) {
    await s.kernel.sql`INSERT INTO account_memberships (id, account_id, member_id, role) VALUES (${newId()}, ${id}, ${u.id}, ${role})`;
  }
  return id;
}

/** A team with one user per role, plus an outsider who belongs to none of it. */
export async function roleSet(s: TestServer) {
  const [owner, admin, editor, viewer, outsider] = await Promise.all([s.user(), s.user(), s.user(), s.user(), s.user()]);
  const spaceId = await teamSpace(s, [
    [owner!, 'owner'],
    [admin!, 'admin'],
    [editor!, 'editor'],
    [viewer!, 'viewer'],
  ]);
  return { spaceId, owner: owner!, admin: admin!, editor: editor!, viewer: viewer!, outsider: outsider! };
}

export async function createThread(s: TestServer, token: string, spaceId: string, body: Record<string, unknown> = {}): Promise<string> {
  const r = await s.request('POST', `/api/spaces/${spaceId}/threads`, { token, body });
  expect(r.status, r.text).toBe(201);
  return r.body.thread.id as string;
}

export async function postMessage(s: TestServer, token: string, threadId: string, body: Record<string, unknown>) {
  const r = await s.request('POST', `/api/threads/${threadId}/messages`, { token, body });
  expect(r.status, r.text).toBe(201);
  return r.body.message;
}
