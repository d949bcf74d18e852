import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Sql } from '../db.ts';
import { hashToken } from '../auth/pat.ts';
import { createPat, createUser } from './users.ts';

/**
 * First start of a self-hosted install: there is no sign-in provider yet, so the start command creates a server
 * admin and a personal access token for it, and writes the token to `$TAKOS_DATA_DIR/admin-token`. Later starts
 * reuse that token while it is still valid, and mint a new one when it was deleted.
 */
export async function bootstrapAdmin(sql: Sql, dataDir: string): Promise<{ token: string; created: boolean; username: string }> {
  const file = path.join(dataDir, 'admin-token');
  const existing = await readFile(file, 'utf8').then((s) => s.trim(), () => null);
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(727002)`;
    let [admin] = await tx<{ id: string; slug: string }[]>`
      SELECT id, slug FROM accounts WHERE type = 'user' AND is_server_admin AND status = 'active' ORDER BY created_at LIMIT 1`;
    if (existing && admin) {
      const [valid] = await tx`
        SELECT 1 FROM personal_access_tokens WHERE token_hash = ${hashToken(existing)} AND account_id = ${admin.id}
          AND (expires_at IS NULL OR expires_at > now())`;
      if (valid) return { token: existing, created: false, username: admin.slug };
    }
    if (!admin) {
      const u = await createUser(tx, { username: 'admin', email: null, name: 'Administrator', isServerAdmin: true, setupCompleted: true });
      admin = { id: u.id, slug: u.slug };
    }
    const pat = await createPat(tx, admin.id, 'bootstrap (npm start)');
    return { token: pat.token, created: true, username: admin.slug };
  });
}
