import { badRequest, notFound } from '../../../runtime/errors.ts';
import { newId, toIso } from '../../../runtime/ids.ts';
import { canonicalEnvName, decryptOrNull, ENV_NAME, listSpaceEnv, RESERVED_ENV_NAMES } from '../../../runtime/secrets/space-env.ts';
import type { TxSql } from '../../../runtime/db.ts';
import { route, type AuthedCtx } from '../../route.ts';
import { ADMIN, ALL, requireSpace } from '../spaces/access.ts';
import { ListEnvResponse, PutEnvBody, SuccessResponse } from './schemas.ts';

/**
 * `spaces.common-env` (spec workspace 2): a space's environment variables, encrypted at rest. Members read them
 * (secret values masked); owners and admins write them. A run of the space takes its provider keys from here before
 * the server's (workers/runs/model/select.ts). Every change leaves an audit row without the value.
 *
 * Deviations from the original, on purpose: a PUT without `secret` keeps an existing variable's flag (the original
 * turned secrets public); names are stored upper case under a unique key, so the original's 409 for rows differing
 * only by case cannot arise; wrong JSON types are 422 like every zod-validated route. Reconcile jobs for linked
 * services are not enqueued: services are not built yet.
 */
const family = 'spaces.common-env';
const MASK = '********';

function checkName(raw: string): string {
  const trimmed = raw.trim();
  if (trimmed === '') throw badRequest('name is required');
  if (!ENV_NAME.test(trimmed)) throw badRequest(`Invalid environment variable name: ${trimmed.slice(0, 100)}`);
  const name = canonicalEnvName(trimmed);
  if (RESERVED_ENV_NAMES.has(name)) throw badRequest(`${name} is reserved as a managed Takos built-in env key`);
  return name;
}

type Action = 'workspace_env_created' | 'workspace_env_updated' | 'workspace_env_deleted';

async function audit(tx: TxSql, c: AuthedCtx<unknown, unknown>, spaceId: string, name: string, action: Action, before: object, after: object): Promise<void> {
  const requestId = c.req.headers['x-request-id']?.slice(0, 200) ?? null;
  const userAgent = c.req.headers['user-agent']?.slice(0, 500) ?? null;
  await tx`
    INSERT INTO space_env_audit_logs (id, space_id, name, action, before, after, actor_id, request_id, ip_hash, user_agent)
    VALUES (${newId()}, ${spaceId}, ${name}, ${action}, ${tx.json(before as never)}, ${tx.json(after as never)}, ${c.auth.userId}, ${requestId},
      ${c.deps.envCipher.ipHash(c.req.ip)}, ${userAgent})`;
}

export const spaceCommonEnvRoutes = () => [
  route({
    method: 'GET',
    path: '/api/spaces/:spaceId/common-env',
    family,
    summary: "The space's environment variables, by name (secret values masked)",
    response: ListEnvResponse,
    async handler(c) {
      const { space } = await requireSpace(c.deps.sql, c.auth.userId, c.params.spaceId!, ALL);
      const rows = await listSpaceEnv(c.deps.sql, space.id);
      return {
        env: rows.map((r) => ({
          name: r.name,
          secret: r.is_secret,
          // A value written under another ENCRYPTION_KEY cannot be shown: masked.
          value: r.is_secret ? MASK : (decryptOrNull(c.deps.envCipher, c.log, space.id, r.name, r.value_encrypted) ?? MASK),
          updatedAt: toIso(r.updated_at)!,
        })),
      };
    },
  }),
  route({
    method: 'PUT',
    path: '/api/spaces/:spaceId/common-env',
    family,
    summary: 'Create or update an environment variable (owner/admin)',
    body: PutEnvBody,
    response: SuccessResponse,
    async handler(c) {
      const { space } = await requireSpace(c.deps.sql, c.auth.userId, c.params.spaceId!, ADMIN);
      const name = checkName(c.body.name);
      const cipher = c.deps.envCipher;
      await c.deps.sql.begin(async (tx) => {
        const [prev] = await tx<Array<{ value_encrypted: string; is_secret: boolean }>>`
          SELECT value_encrypted, is_secret FROM space_env_vars WHERE space_id = ${space.id} AND name = ${name} FOR UPDATE`;
        const secret = c.body.secret ?? prev?.is_secret ?? false;
        // A value written under another ENCRYPTION_KEY is replaced.
        const sameValue = prev !== undefined && decryptOrNull(cipher, c.log, space.id, name, prev.value_encrypted) === c.body.value;
        if (prev && sameValue && prev.is_secret === secret) return;
        const [row] = await tx<Array<{ inserted: boolean }>>`
          INSERT INTO space_env_vars (space_id, name, value_encrypted, is_secret)
          VALUES (${space.id}, ${name}, ${cipher.encrypt(space.id, name, c.body.value)}, ${secret})
          ON CONFLICT (space_id, name) DO UPDATE SET value_encrypted = EXCLUDED.value_encrypted, is_secret = EXCLUDED.is_secret, updated_at = now()
          RETURNING (xmax = 0) AS inserted`;
        const created = prev === undefined && row!.inserted;
        await audit(
          tx,
          c,
          space.id,
          name,
          created ? 'workspace_env_created' : 'workspace_env_updated',
          prev ? { exists: true, is_secret: prev.is_secret } : { exists: false },
          { exists: true, is_secret: secret, value_changed: !sameValue },
        );
      });
      return { success: true as const };
    },
  }),
  route({
    method: 'DELETE',
    path: '/api/spaces/:spaceId/common-env/:name',
    family,
    summary: 'Delete an environment variable (owner/admin)',
    response: SuccessResponse,
    async handler(c) {
      const { space } = await requireSpace(c.deps.sql, c.auth.userId, c.params.spaceId!, ADMIN);
      const name = checkName(c.params.name!);
      await c.deps.sql.begin(async (tx) => {
        const [gone] = await tx<Array<{ is_secret: boolean }>>`
          DELETE FROM space_env_vars WHERE space_id = ${space.id} AND name = ${name} RETURNING is_secret`;
        if (!gone) throw notFound('Common env');
        await audit(tx, c, space.id, name, 'workspace_env_deleted', { exists: true, is_secret: gone.is_secret }, { exists: false });
      });
      return { success: true as const };
    },
  }),
];
