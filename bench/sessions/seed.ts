/**
 * Seeds the sessions bench (through the project's identity code and SQL, not the API): a user, a team space with
 * its default repository, `count` running sessions of that user (rows written as the session actor writes them),
 * one heartbeat token per session signed with SERVICE_TOKEN_SECRET (what POST /api/spaces/:id/sessions hands the
 * runtime), and the Redis key the Foundation baseline reads. Writes "<sessionId> <token>" lines to `out`; prints
 * one JSON line.
 *
 * Usage: node --import tsx bench/sessions/seed.ts <count> <out file> <id prefix> <timeout ms>
 * Env: DATABASE_URL, REDIS_URL, SERVICE_TOKEN_SECRET (the database must already be migrated).
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { ServiceTokens } from '../../runtime/auth/service-token.ts';
import { createDb } from '../../runtime/db.ts';
import { newId } from '../../runtime/ids.ts';
import { createUser } from '../../runtime/identity/users.ts';

const [countArg, out, prefix, timeoutArg] = process.argv.slice(2);
const count = Number(countArg);
const timeoutMs = Number(timeoutArg);
const { DATABASE_URL, REDIS_URL, SERVICE_TOKEN_SECRET } = process.env;
if (!DATABASE_URL || !REDIS_URL || !SERVICE_TOKEN_SECRET || !out || !prefix || !(count > 0) || !(timeoutMs > 0)) {
  throw new Error('usage: seed.ts <count> <out> <prefix> <timeout ms> with DATABASE_URL, REDIS_URL, SERVICE_TOKEN_SECRET');
}
const suffix = randomBytes(3).toString('hex');
const sql = createDb({ url: DATABASE_URL, max: 2 });
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
try {
  const user = await createUser(sql, { username: `sbench${suffix}`, email: `sbench${suffix}@example.test`, name: 'Session Bench' });
  const spaceId = newId();
  const repoId = newId();
  await sql.begin(async (tx) => {
    await tx`
      INSERT INTO accounts (id, type, name, slug, owner_account_id, default_repository_id, setup_completed)
      VALUES (${spaceId}, 'team', 'Session Bench', ${`sbench-${suffix}`}, ${user.id}, ${repoId}, true)`;
    await tx`INSERT INTO account_memberships (id, account_id, member_id, role) VALUES (${newId()}, ${spaceId}, ${user.id}, 'owner')`;
    await tx`INSERT INTO repositories (id, account_id, name) VALUES (${repoId}, ${spaceId}, 'default')`;
  });
  const ids = Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(7, '0')}`);
  await sql`
    INSERT INTO runtime_sessions (id, account_id, user_account_id, repo_id, branch, status, running_since, heartbeat_timeout_ms, start_grace_ms, max_age_ms)
    SELECT u.id, ${spaceId}, ${user.id}, ${repoId}, 'main', 'running', now(), ${timeoutMs}, ${timeoutMs}, 86400000
      FROM unnest(${ids}::text[]) AS u(id)`;
  await sql`ANALYZE runtime_sessions`;
  const tokens = new ServiceTokens(SERVICE_TOKEN_SECRET);
  const lines: string[] = [];
  for (const id of ids) lines.push(`${id} ${await tokens.sign({ sub: user.id, sid: id, spc: spaceId }, 86_400)}`);
  await writeFile(out, lines.join('\n') + '\n');
  const redisKey = `bench:sessions:${suffix}`;
  await redis.set(redisKey, JSON.stringify({ seeded: new Date().toISOString() }));
  process.stdout.write(JSON.stringify({ userId: user.id, spaceId, repoId, count, redisKey, baselineRowId: spaceId }) + '\n');
} finally {
  await sql.end();
  redis.disconnect();
}
