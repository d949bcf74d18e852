import type { z } from 'zod';
import type { Sql } from '../../../runtime/db.ts';
import { toIso } from '../../../runtime/ids.ts';
import { listMembers } from '../spaces.members/queries.ts';
import { requireSpace } from './access.ts';
import { listRepositories } from './queries.ts';
import type { ExportResponse } from './schemas.ts';
import { spaceView } from './views.ts';

/**
 * The space's export document: what the space holds today, read in one REPEATABLE READ snapshot so that the sections
 * agree with each other (a member removed halfway through the export is either in it or not, consistently).
 *
 * Extending: a new kind of content (threads, memories, files...) adds a field to ExportResponse and one line below.
 * Member emails are left out on purpose: an export file travels further than the member list it came from.
 * Sections are not paged yet; a kind that can hold millions of rows should stream instead of joining this object.
 */
export const EXPORT_FORMAT = 'takos.space-export';
export const EXPORT_VERSION = 1;
const NO_LIMIT = Number.MAX_SAFE_INTEGER;

/** Any member may export: everything in the document is already readable by every member (spec 2.5 "read"). */
export async function exportSpace(sql: Sql, userId: string, ref: string): Promise<z.infer<typeof ExportResponse>> {
  return sql.begin('isolation level repeatable read read only', async (tx) => {
    const { space } = await requireSpace(tx, userId, ref);
    const members = await listMembers(tx, space.id, NO_LIMIT, 0);
    const repositories = await listRepositories(tx, space.id, space.default_repository_id, NO_LIMIT);
    return {
      format: EXPORT_FORMAT,
      version: EXPORT_VERSION,
      exported_at: new Date().toISOString(),
      space: spaceView(space),
      members: members.map((m) => ({ user_id: m.user_id, username: m.username, name: m.name, role: m.role, joined_at: toIso(m.joined_at)! })),
      repositories: repositories.map((r) => ({
        id: r.id,
        name: r.name,
        description: r.description,
        visibility: r.visibility,
        default_branch: r.default_branch,
        is_default: r.id === space.default_repository_id,
        created_at: toIso(r.created_at)!,
        updated_at: toIso(r.updated_at)!,
      })),
    };
  });
}
