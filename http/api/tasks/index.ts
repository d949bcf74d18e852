import type { AnyRoute } from '../../route.ts';
import { projectsRoutes } from '../projects/routes.ts';
import { taskDependencyRoutes } from '../task-dependencies/routes.ts';
import { taskRoutes } from './routes.ts';
import { taskRunRoutes } from './runs-routes.ts';

/** The Projects/Tasks API (shared/api/tasks-endpoints.tsv) plus task runs: projects, tasks, task-dependencies. */
export const projectsTasksRoutes = (): AnyRoute[] => [...projectsRoutes(), ...taskRoutes(), ...taskRunRoutes(), ...taskDependencyRoutes()];
