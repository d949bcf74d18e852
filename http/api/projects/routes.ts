import { notFound, validationError } from '../../../runtime/errors.ts';
import { checkBaseBranch, checkRepository } from '../../../runtime/tasks/repo-check.ts';
import { created, noContent } from '../../reply.ts';
import { route } from '../../route.ts';
import { EDITOR_PLUS, findSpaceForUser, requireSpace } from '../spaces/access.ts';
import { PROJECT_DELETE, PROJECT_READ, PROJECT_WRITE, requireProject } from './access.ts';
import { insertProject, listProjects, softDeleteProject, updateProject } from './queries.ts';
import { CreateProjectBody, PatchProjectBody, ProjectListQuery, ProjectListResponse, ProjectSchema } from './schemas.ts';
import { projectView } from './views.ts';

/** 422 in the shape the framework gives zod failures, for checks that need the filesystem or git. */
const invalid = (field: string, message: string) => validationError([{ in: 'body', path: field, message }], message);

/**
 * Projects (seed "Projects"): a named pointer at a Git repository on the server's disk, inside TAKOS_PROJECT_ROOTS.
 * Registering needs editor+ in the target space; the path is canonicalised (realpath) and stored that way.
 * The seed's `/api/projects/:id` is routed as `/api/projects/:projectId`: the router needs one parameter name per
 * position, and `/api/projects/:projectId/tasks` shares it; the URLs are the same.
 */
export const projectsRoutes = () => [
  route({
    method: 'POST',
    path: '/api/projects',
    family: 'projects',
    summary: 'Register a project: a Git repository (inside the allowed roots) and its base branch',
    body: CreateProjectBody,
    response: ProjectSchema,
    status: 201,
    async handler(c) {
      const { space } = await requireSpace(c.deps.sql, c.auth.userId, c.body.space_id ?? 'me', EDITOR_PLUS, {
        denyWith: 'forbidden',
        forbiddenMessage: 'Registering a project needs the editor role or above in the space',
      });
      const repo = await checkRepository(c.deps.config.projectRoots, c.body.repo_path);
      if (!repo.ok) throw invalid('repo_path', repo.message);
      const branch = await checkBaseBranch(repo.value.repoPath, c.body.base_branch);
      if (!branch.ok) throw invalid('base_branch', branch.message);
      const row = await insertProject(c.deps.sql, {
        spaceId: space.id,
        createdBy: c.auth.userId,
        name: c.body.name,
        repoPath: repo.value.repoPath,
        baseBranch: branch.value,
      });
      return created(projectView(row));
    },
  }),
  route({
    method: 'GET',
    path: '/api/projects',
    family: 'projects',
    summary: "Projects of every space the caller belongs to (or of one space with ?space_id=)",
    query: ProjectListQuery,
    response: ProjectListResponse,
    async handler(c) {
      let spaceId: string | null = null;
      if (c.query.space_id) {
        const access = await findSpaceForUser(c.deps.sql, c.auth.userId, c.query.space_id);
        if (!access) throw notFound('Space');
        spaceId = access.space.id;
      }
      return { projects: (await listProjects(c.deps.sql, c.auth.userId, spaceId)).map(projectView) };
    },
  }),
  route({
    method: 'GET',
    path: '/api/projects/:projectId',
    family: 'projects',
    summary: 'Project detail',
    response: ProjectSchema,
    async handler(c) {
      const { project } = await requireProject(c.deps.sql, c.auth.userId, c.params.projectId!, PROJECT_READ);
      return projectView(project);
    },
  }),
  route({
    method: 'PATCH',
    path: '/api/projects/:projectId',
    family: 'projects',
    summary: 'Rename a project or change its base branch (which must exist in the repository)',
    body: PatchProjectBody,
    response: ProjectSchema,
    async handler(c) {
      const { project } = await requireProject(c.deps.sql, c.auth.userId, c.params.projectId!, PROJECT_WRITE);
      let baseBranch: string | undefined;
      if (c.body.base_branch !== undefined) {
        const branch = await checkBaseBranch(project.repo_path, c.body.base_branch);
        if (!branch.ok) throw invalid('base_branch', branch.message);
        baseBranch = branch.value;
      }
      const row = await updateProject(c.deps.sql, project.id, { ...(c.body.name !== undefined ? { name: c.body.name } : {}), ...(baseBranch ? { baseBranch } : {}) });
      if (!row) throw notFound('Project');
      return projectView(row);
    },
  }),
  route({
    method: 'DELETE',
    path: '/api/projects/:projectId',
    family: 'projects',
    summary: 'Delete a project (its tasks, task runs, branches and worktrees are kept)',
    async handler(c) {
      const { project } = await requireProject(c.deps.sql, c.auth.userId, c.params.projectId!, PROJECT_DELETE);
      if (!(await softDeleteProject(c.deps.sql, project.id))) throw notFound('Project');
      return noContent();
    },
  }),
];
