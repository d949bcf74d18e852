import { badRequest, notFound } from '../../../runtime/errors.ts';
import { toIso } from '../../../runtime/ids.ts';
import { usernameError } from '../../../runtime/identity/username.ts';
import { route, type AnyRoute } from '../../route.ts';
import { findSpaceForUser } from '../spaces/access.ts';
import { spaceView } from '../spaces/views.ts';
import { patRoutes } from './pat-routes.ts';
import { loadAccount } from './queries.ts';
import { MeResponse, PatchSettingsBody, PersonalSpaceResponse, SettingsResponse, UsernameBody, UsernameResponse } from './schemas.ts';
import { readSettings, updateSettings } from './settings-store.ts';
import { claimUsername } from './username.ts';

/** The signed-in user's own account: profile, personal space, settings, username, and (pat-routes.ts) tokens. */
export function meRoutes(): AnyRoute[] {
  return [
    route({
      method: 'GET',
      path: '/api/me',
      family: 'me',
      summary: 'The signed-in user',
      response: MeResponse,
      async handler(c) {
        const u = await loadAccount(c.deps.sql, c.auth.userId);
        return { id: u.id, email: u.email, name: u.name, username: u.slug, picture: u.picture, setup_completed: u.setup_completed, created_at: toIso(u.created_at)! };
      },
    }),
    route({
      method: 'GET',
      path: '/api/me/personal-space',
      family: 'me',
      summary: "The signed-in user's personal space",
      response: PersonalSpaceResponse,
      async handler(c) {
        const access = await findSpaceForUser(c.deps.sql, c.auth.userId, 'me');
        if (!access) throw notFound('Personal space');
        return { space: spaceView(access.space) };
      },
    }),
    route({
      method: 'GET',
      path: '/api/me/settings',
      family: 'me',
      summary: 'User settings (setup state, auto-update, privacy)',
      response: SettingsResponse,
      async handler(c) {
        const s = await readSettings(c.deps.sql, c.auth.userId);
        if (!s) throw notFound('User');
        return s;
      },
    }),
    route({
      method: 'PATCH',
      path: '/api/me/settings',
      family: 'me',
      summary: 'Update user settings; answers the settings after the change',
      body: PatchSettingsBody,
      response: SettingsResponse,
      async handler(c) {
        const s = await updateSettings(c.deps.sql, c.auth.userId, c.body);
        if (!s) throw notFound('User');
        return s;
      },
    }),
    route({
      method: 'PATCH',
      path: '/api/me/username',
      family: 'me',
      summary: 'Change username (rules of spec 2.6; 409 when taken)',
      body: UsernameBody,
      response: UsernameResponse,
      async handler(c) {
        // As the original: surrounding spaces and a leading '@' are forgiven, the stored form is lower case.
        const wanted = c.body.username.trim().replace(/^@+/, '');
        const err = usernameError(wanted);
        if (err) throw badRequest(err);
        const slug = wanted.toLowerCase();
        if (!(await claimUsername(c.deps.sql, c.auth.userId, slug))) throw notFound('User');
        return { success: true as const, username: slug };
      },
    }),
    ...patRoutes(),
  ];
}
