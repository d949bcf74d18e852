import { z } from 'zod';

const noNul = (s: z.ZodString) => s.refine((v) => !v.includes('\0'), 'must not contain NUL characters');
const Name = noNul(z.string().trim().min(1).max(200));
/** Git's own rules are checked against the repository (repo-check.ts); this only bounds the input. */
const Branch = noNul(z.string().trim().min(1).max(255));

export const CreateProjectBody = z.object({
  name: Name,
  repo_path: noNul(z.string().min(1).max(4096)),
  base_branch: Branch,
  /** The space the project belongs to (id, slug or `me`); the caller's personal space when left out. */
  space_id: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/).optional(),
});

export const PatchProjectBody = z
  .object({ name: Name.optional(), base_branch: Branch.optional() })
  .refine((b) => b.name !== undefined || b.base_branch !== undefined, { message: 'Provide name and/or base_branch' });

export const ProjectSchema = z.object({
  id: z.string(),
  space_id: z.string(),
  name: z.string(),
  repo_path: z.string(),
  base_branch: z.string(),
  created_by: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});

export const ProjectListQuery = z.object({
  space_id: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/).optional(),
});

export const ProjectListResponse = z.object({ projects: z.array(ProjectSchema) });
