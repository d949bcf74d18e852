import type { Sql, TxSql } from '../db.ts';
import type { Logger } from '../log.ts';
import type { EnvCipher } from './env-cipher.ts';

/**
 * A space's environment variables ("common env", spec workspace 2), stored encrypted in `space_env_vars`: the
 * storage side shared by the route family (http/api/spaces.common-env/) and the workers that read a space's provider
 * keys (workers/runs, workers/tasks).
 */
export interface SpaceEnvRow {
  name: string;
  value_encrypted: string;
  is_secret: boolean;
  updated_at: Date;
}

/** Names as the original canonicalises them: trimmed, `[A-Za-z_][A-Za-z0-9_]*`, stored upper case. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Managed built-ins a space cannot set (the original reserves these; `APP_BASE_URL` is managed but allowed). */
export const RESERVED_ENV_NAMES = new Set(['TAKOS_API_URL', 'TAKOS_ACCESS_TOKEN']);

export const canonicalEnvName = (raw: string): string => raw.trim().toUpperCase();

export function listSpaceEnv(sql: Sql | TxSql, spaceId: string): Promise<SpaceEnvRow[]> {
  return sql<SpaceEnvRow[]>`SELECT name, value_encrypted, is_secret, updated_at FROM space_env_vars WHERE space_id = ${spaceId} ORDER BY name`;
}

/**
 * A stored value in clear, or null when it no longer decrypts (ENCRYPTION_KEY changed), with a warning for the
 * operator: callers decide what an unreadable value means to them.
 */
export function decryptOrNull(cipher: EnvCipher, log: Logger, spaceId: string, name: string, stored: string): string | null {
  try {
    return cipher.decrypt(spaceId, name, stored);
  } catch (err) {
    log.warn({ err, spaceId, name }, 'a space environment value does not decrypt (ENCRYPTION_KEY changed?)');
    return null;
  }
}

/**
 * The decrypted variables of a space, for a run choosing its model's credentials. A value that no longer decrypts is
 * left out rather than failing the run: the server's own keys may serve.
 */
export async function loadSpaceEnv(sql: Sql, cipher: EnvCipher, spaceId: string, log: Logger): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const r of await listSpaceEnv(sql, spaceId)) {
    const value = decryptOrNull(cipher, log, spaceId, r.name, r.value_encrypted);
    if (value !== null) out[r.name] = value;
  }
  return out;
}
