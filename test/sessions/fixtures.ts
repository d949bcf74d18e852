import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { expect } from 'vitest';
import type { TestServer, TestUser } from '../harness.ts';

/** Shared set-up of the session tests: a team space with one member of each role, and git CLI helpers. */
export interface Team {
  id: string;
  repoId: string;
  owner: TestUser;
  admin: TestUser;
  editor: TestUser;
  viewer: TestUser;
  outsider: TestUser;
}

export async function team(s: TestServer, name: string): Promise<Team> {
  const [owner, admin, editor, viewer, outsider] = await Promise.all([s.user(), s.user(), s.user(), s.user(), s.user()]);
  const r = await s.request('POST', '/api/spaces', { token: owner!.token, body: { name } });
  expect(r.status).toBe(201);
  const id = r.body.space.id as string;
  for (const [u, role] of [[admin!, 'admin'], [editor!, 'editor'], [viewer!, 'viewer']] as const) {
    const m = await s.request('POST', `/api/spaces/${id}/members`, { token: owner!.token, body: { username: u.username, role } });
    expect(m.status).toBe(201);
  }
  const [repo] = await s.kernel.sql<{ default_repository_id: string }[]>`SELECT default_repository_id FROM accounts WHERE id = ${id}`;
  return { id, repoId: repo!.default_repository_id, owner: owner!, admin: admin!, editor: editor!, viewer: viewer!, outsider: outsider! };
}

export interface Started {
  id: string;
  token: string;
  workDir: string;
  body: Record<string, unknown>;
}

export async function startSession(s: TestServer, t: Team, as: TestUser = t.editor, body: Record<string, unknown> = {}): Promise<Started> {
  const r = await s.request('POST', `/api/spaces/${t.id}/sessions`, { token: as.token, body });
  expect(r.status, r.text).toBe(201);
  return { id: r.body.session_id, token: r.body.heartbeat.token, workDir: r.body.runtime_init.work_dir, body: r.body };
}

export const heartbeat = (s: TestServer, id: string, token: string | null) => s.request('POST', `/api/sessions/${id}/heartbeat`, { token });

export async function sessionRow(s: TestServer, id: string) {
  const [row] = await s.kernel.sql<{ status: string; ended_reason: string | null; last_heartbeat: Date | null; status_changed_at: Date; head_commit: string | null }[]>`
    SELECT status, ended_reason, last_heartbeat, status_changed_at, head_commit FROM runtime_sessions WHERE id = ${id}`;
  return row!;
}

/** The real git CLI on the space repository's bare repository. */
export function gitBare(s: TestServer, repoId: string, ...args: string[]): string {
  return execFileSync('git', ['--git-dir', path.join(s.config.dataDir, 'repos', `${repoId}.git`), ...args], { encoding: 'utf8' });
}
