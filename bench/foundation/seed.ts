/**
 * Seeds what the foundation bench needs, through the project's own identity code and plain SQL (not the HTTP API,
 * so the bench does not depend on routes other than the one it measures): a user, a PAT for it, a team space the
 * user owns, filler tenants (see below), and a Redis key for the baseline's GET. Names carry a random suffix so that
 * seeding twice into the same external database never clashes. Prints one JSON line.
 *
 * Env: DATABASE_URL, REDIS_URL (the database must already be migrated).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createDb } from '../../runtime/db.ts';
import { newId } from '../../runtime/ids.ts';
import { createPat, createUser } from '../../runtime/identity/users.ts';

const databaseUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;
if (!databaseUrl || !redisUrl) throw new Error('DATABASE_URL and REDIS_URL are required');

const suffix = randomBytes(3).toString('hex');
const FILLER = 5000;
const sql = createDb({ url: databaseUrl, max: 2 });
const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2, retryStrategy: (n) => (n > 3 ? null : 200) });
try {
  const seeded = await sql.begin(async (tx) => {
    const user = await createUser(tx, { username: `bench${suffix}`, email: `bench${suffix}@example.test`, name: 'Bench User' });
    const pat = await createPat(tx, user.id, 'foundation bench');
    const spaceId = newId();
    const repoId = newId();
    // Shaped like a team space created through the API (createTeamSpace): owner membership and default repository.
    await tx`
      INSERT INTO accounts (id, type, name, slug, description, owner_account_id, default_repository_id, setup_completed)
      VALUES (${spaceId}, 'team', 'Bench Team', ${`bench-team-${suffix}`}, 'Seeded by bench/foundation', ${user.id}, ${repoId}, true)`;
    await tx`INSERT INTO account_memberships (id, account_id, member_id, role) VALUES (${newId()}, ${spaceId}, ${user.id}, 'owner')`;
    await tx`INSERT INTO repositories (id, account_id, name) VALUES (${repoId}, ${spaceId}, 'default')`;
    // Other tenants, so that the planner sees tables of a realistic shape and picks the plans production would
    // (on a table of two rows every lookup is a sequential scan, which flatters neither side honestly).
    await tx`
      INSERT INTO accounts (id, type, name, slug, setup_completed)
      SELECT ${`f${suffix}u`} || g, 'user', 'Filler user ' || g, ${`filler-${suffix}-u`} || g, true FROM generate_series(1, ${FILLER}) g`;
    await tx`
      INSERT INTO accounts (id, type, name, slug, owner_account_id, setup_completed)
      SELECT ${`f${suffix}t`} || g, 'team', 'Filler team ' || g, ${`filler-${suffix}-t`} || g, ${`f${suffix}u`} || g, true FROM generate_series(1, ${FILLER}) g`;
    await tx`
      INSERT INTO account_memberships (id, account_id, member_id, role)
      SELECT ${`f${suffix}m`} || g || k, CASE WHEN k = 1 THEN ${`f${suffix}u`} || g ELSE ${`f${suffix}t`} || g END, ${`f${suffix}u`} || g, 'owner'
      FROM generate_series(1, ${FILLER}) g, generate_series(1, 2) k`;
    return { userId: user.id, token: pat.token, spaceId };
  });
  await sql`ANALYZE accounts, account_memberships`;
  const redisKey = `bench:foundation:${suffix}`;
  await redis.set(redisKey, JSON.stringify({ seeded: new Date().toISOString() }));
  // The baseline selects the same team row by primary key that the project serves.
  process.stdout.write(JSON.stringify({ ...seeded, baselineRowId: seeded.spaceId, redisKey }) + '\n');
} finally {
  await sql.end();
  redis.disconnect();
}
