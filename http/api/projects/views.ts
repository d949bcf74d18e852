import type { z } from 'zod';
import { toIso } from '../../../runtime/ids.ts';
import type { ProjectRow } from './queries.ts';
import type { ProjectSchema } from './schemas.ts';

export const projectView = (p: ProjectRow): z.infer<typeof ProjectSchema> => ({
  id: p.id,
  space_id: p.space_id,
  name: p.name,
  repo_path: p.repo_path,
  base_branch: p.base_branch,
  created_by: p.created_by,
  created_at: toIso(p.created_at)!,
  updated_at: toIso(p.updated_at)!,
});
