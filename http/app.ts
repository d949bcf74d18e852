import type { AppDeps } from './deps.ts';
import type { AnyRoute } from './route.ts';
import { createHttpServer, type HttpServer } from './server.ts';
import { systemRoutes } from './api/system/routes.ts';
import { familyRoutes, familyWsRoutes } from './api/index.ts';
import { WsBroker } from './ws.ts';

/** Builds the whole HTTP app without listening, so tests and processes share one construction path. */
export function buildApp(deps: AppDeps): { server: HttpServer; routes: AnyRoute[] } {
  const routes: AnyRoute[] = [];
  routes.push(...systemRoutes(() => routes), ...familyRoutes());
  return { server: createHttpServer(deps, routes, familyWsRoutes(), new WsBroker()), routes };
}
