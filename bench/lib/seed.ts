/**
 * Seeds what bench/streams and bench/actors-http need, through the project's identity code and plain SQL (not the
 * HTTP API, so a bench depends only on the routes it measures): a user with a PAT, a team space it owns (shaped like
 * one created through the API: owner membership, default repository), a thread in it, and `--runs` queued runs in
 * that thread. Runs are inserted directly, with the columns `createRun` writes for a top-level run: creating
 * hundreds through the API would hit the spec's run rate limits (30/min, 20 concurrent per space), which are not
 * what these benches measure. Names carry a random suffix. Prints one JSON line.
 *
 *   node --import tsx bench/lib/seed.ts [--runs 1]        (env: DATABASE_URL; the database must be migrated)
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createDb } from '../../runtime/db.ts';
import { newId } from '../../runtime/ids.ts';
import { createPat, createUser } from '../../runtime/identity/users.ts';

const { values: opt } = parseArgs({ options: { runs: { type: 'string', default: '1' } } });
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) throw new Error('DATABASE_URL is required');
const runCount = Number(opt.runs);

const suffix = randomBytes(3).toString('hex');
const sql = createDb({ url: databaseUrl, max: 2 });
try {
  const seeded = await sql.begin(async (tx) => {
    const user = await createUser(tx, { username: `bench${suffix}`, email: `bench${suffix}@example.test`, name: 'Bench User' });
    const pat = await createPat(tx, user.id, 'bench');
    const spaceId = newId();
    const repoId = newId();
    await tx`
      INSERT INTO accounts (id, type, name, slug, description, owner_account_id, default_repository_id, setup_completed)
      VALUES (${spaceId}, 'team', 'Bench Team', ${`bench-team-${suffix}`}, 'Seeded by bench/lib/seed.ts', ${user.id}, ${repoId}, true)`;
    await tx`INSERT INTO account_memberships (id, account_id, member_id, role) VALUES (${newId()}, ${spaceId}, ${user.id}, 'owner')`;
    await tx`INSERT INTO repositories (id, account_id, name) VALUES (${repoId}, ${spaceId}, 'default')`;
    const threadId = newId();
    await tx`INSERT INTO threads (id, account_id, title) VALUES (${threadId}, ${spaceId}, 'Bench thread')`;
    const runIds = Array.from({ length: runCount }, () => newId());
    if (runIds.length > 0) {
      await tx`
        INSERT INTO runs (id, thread_id, account_id, requester_account_id, root_thread_id, root_run_id, depth, agent_type, status, input)
        SELECT r, ${threadId}, ${spaceId}, ${user.id}, ${threadId}, r, 0, 'default', 'queued', '{}' FROM unnest(${runIds}::text[]) r`;
    }
    return { userId: user.id, token: pat.token, spaceId, threadId, runIds };
  });
  await sql`ANALYZE runs`;
  process.stdout.write(JSON.stringify(seeded) + '\n');
} finally {
  await sql.end();
}
