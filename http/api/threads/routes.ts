import type { AnyRoute } from '../../route.ts';
import { exportRoutes } from './export.ts';
import { messageRoutes } from './messages.ts';
import { searchRoutes } from './search.ts';
import { shareRoutes } from './shares.ts';
import { threadRoutes } from './threads.ts';

/**
 * The threads family (spec 8): thread CRUD, messages and history, search, shares, export. For the runs family:
 * `appendMessage` in queries.ts is how an agent adds its reply to a thread.
 */
export const threadsRoutes = (): AnyRoute[] => [...threadRoutes(), ...messageRoutes(), ...searchRoutes(), ...shareRoutes(), ...exportRoutes()];
