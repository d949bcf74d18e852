import { route, type AnyRoute } from '../../route.ts';
import { loadSeedCatalogue } from './catalogue.ts';
import { SeedCatalogue } from './schemas.ts';

export function seedRepositoryRoutes(): AnyRoute[] {
  return [
    route({
      method: 'GET',
      path: '/api/seed-repositories',
      family: 'seed-repositories',
      summary: 'Repositories offered to new users (operator configuration)',
      auth: 'none',
      response: SeedCatalogue,
      async handler(c) {
        try {
          return await loadSeedCatalogue(c.deps.config.dataDir);
        } catch (err) {
          // Not the caller's fault: a plain Error makes it a 500 (a ZodError would pass for the caller's 422), and
          // the server logs it with the cause under the answer's error_id.
          throw new Error('seed repository catalogue is unreadable or invalid', { cause: err });
        }
      },
    }),
  ];
}
