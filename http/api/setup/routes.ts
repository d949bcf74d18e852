import { badRequest } from '../../../runtime/errors.ts';
import { usernameError } from '../../../runtime/identity/username.ts';
import { route, type AnyRoute } from '../../route.ts';
import { loadAccount } from '../me/queries.ts';
import { claimUsername, USERNAME_TAKEN, usernameTakenByOther } from '../me/username.ts';
import { CheckUsernameResponse, CompleteSetupResponse, SetupStatusResponse, SetupUsernameBody } from './schemas.ts';

const SETUP_DONE = 'Setup already completed';

/** First-login setup (spec identity 2.6): pick a username once, then setup is complete. */
export function setupRoutes(): AnyRoute[] {
  return [
    route({
      method: 'GET',
      path: '/api/setup/status',
      family: 'setup',
      summary: 'Whether the signed-in user has completed setup',
      response: SetupStatusResponse,
      async handler(c) {
        const u = await loadAccount(c.deps.sql, c.auth.userId);
        return { setup_completed: u.setup_completed, username: u.slug, email: u.email, name: u.name };
      },
    }),
    route({
      method: 'POST',
      path: '/api/setup/complete',
      family: 'setup',
      summary: 'Complete setup by choosing a username',
      body: SetupUsernameBody,
      response: CompleteSetupResponse,
      async handler(c) {
        const u = await loadAccount(c.deps.sql, c.auth.userId);
        if (u.setup_completed) throw badRequest(SETUP_DONE);
        const err = usernameError(c.body.username);
        if (err) throw badRequest(err);
        const slug = c.body.username.trim().toLowerCase();
        // The conditional update also catches a second completion racing this one.
        if (!(await claimUsername(c.deps.sql, c.auth.userId, slug, { completeSetup: true }))) throw badRequest(SETUP_DONE);
        return { success: true as const, username: slug };
      },
    }),
    route({
      method: 'POST',
      path: '/api/setup/check-username',
      family: 'setup',
      summary: 'Whether a username is valid and free',
      body: SetupUsernameBody,
      response: CheckUsernameResponse,
      async handler(c) {
        const err = usernameError(c.body.username);
        if (err) return { available: false, error: err };
        // Deviation: the original called the caller's own current username "taken"; keeping it is allowed
        // (setup/complete accepts it), so it is reported available here.
        if (await usernameTakenByOther(c.deps.sql, c.auth.userId, c.body.username.trim())) return { available: false, error: USERNAME_TAKEN };
        return { available: true };
      },
    }),
  ];
}
