import type { AnyRoute } from '../route.ts';
import type { WsRoute } from '../ws.ts';
import { adminRoutes } from './admin/routes.ts';
import { runsRoutes, runsWsRoutes } from './runs/routes.ts';
import { authRoutes } from './auth/routes.ts';
import { authSessionRoutes } from './auth-session/routes.ts';
import { meRoutes } from './me/routes.ts';
import { seedRepositoryRoutes } from './seed-repositories/routes.ts';
import { setupRoutes } from './setup/routes.ts';
import { spacesRoutes } from './spaces/routes.ts';
import { spaceMembersRoutes } from './spaces.members/routes.ts';
import { spaceCommonEnvRoutes } from './spaces.common-env/routes.ts';
import { threadsRoutes } from './threads/routes.ts';
import { publicShareRoutes } from './public-share/routes.ts';
import { projectsTasksRoutes } from './tasks/index.ts';
import { sessionsRoutes } from './sessions/routes.ts';
import { agentTasksRoutes } from './agent-tasks/routes.ts';
import { notificationsRoutes } from './notifications/routes.ts';
import { notificationsWsRoutes } from './notifications/realtime.ts';
import { remindersRoutes } from './reminders/routes.ts';
import { browserSessionsRoutes } from './browser-sessions/routes.ts';

/**
 * Every route family, one folder each under http/api/<family>/ (named as the Takos reference names it), each
 * exporting its routes. Adding a family = adding its folder and one line here.
 */
export function familyRoutes(): AnyRoute[] {
  return [...adminRoutes(), ...meRoutes(), ...setupRoutes(), ...authRoutes(), ...authSessionRoutes(), ...seedRepositoryRoutes(), ...spacesRoutes(), ...spaceMembersRoutes(), ...spaceCommonEnvRoutes(), ...threadsRoutes(), ...runsRoutes(), ...publicShareRoutes(), ...projectsTasksRoutes(), ...sessionsRoutes(), ...agentTasksRoutes(), ...notificationsRoutes(), ...remindersRoutes(), ...browserSessionsRoutes()];
}

/** WebSocket routes of the families (each also has an HTTP route at the same path answering 426). */
export function familyWsRoutes(): WsRoute[] {
  return [...runsWsRoutes(), ...notificationsWsRoutes()];
}
