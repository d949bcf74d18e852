import type { Sql } from '../../../runtime/db.ts';
import type { SpaceRow } from './access.ts';
import { listRepositories } from './queries.ts';
import type { SidebarItem } from './schemas.ts';

/**
 * The sidebar of a space is the concatenation of what each source returns, in source order. Today only
 * repositories exist; threads, apps and the like join by adding a source here (and their `type` to
 * SidebarItemSchema). Each source reads real rows and caps its own count so that one busy kind cannot crowd out the
 * others.
 */
type Source = (sql: Sql, space: SpaceRow) => Promise<SidebarItem[]>;

const PER_SOURCE = 100;

const repositories: Source = async (sql, space) =>
  (await listRepositories(sql, space.id, space.default_repository_id, PER_SOURCE)).map((r) => ({
    type: 'repository' as const,
    id: r.id,
    title: r.name,
    href: `/api/repos/${r.id}`,
  }));

const SOURCES: readonly Source[] = [repositories];

export async function sidebarItems(sql: Sql, space: SpaceRow): Promise<SidebarItem[]> {
  const lists = await Promise.all(SOURCES.map((s) => s(sql, space)));
  return lists.flat();
}
