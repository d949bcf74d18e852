// Round trips of one actor-style transaction: sql.begin() (BEGIN, statements, COMMIT, each awaited) against one
// flight on a reserved connection (runtime/actors/commit.ts), sequential, on a throwaway durable Postgres.
//   node bench/actors/commit-paths.mjs [n] [gap-ms]
// gap-ms: a pause between transactions (default 0, back to back); with a pause, each commit starts from an idle
// Postgres backend and an idle CPU, as an unloaded request does.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { rmSync } from 'node:fs';
import postgres from 'postgres';
import { ensureDatabase, root, startPostgres } from '../../scripts/lib/services.mjs';

const n = Number(process.argv[2] ?? 2000);
const gapMs = Number(process.argv[3] ?? 0);
const dir = path.join(root, '.data', `bench-commit-paths-${process.pid}`);
const pg = await startPostgres(path.join(dir, 'pg'), { fast: false });
try {
  const sql = postgres(await ensureDatabase(pg.url, 'commit_paths'), { max: 4, onnotice: () => {} });
  await sql`CREATE TABLE IF NOT EXISTS t (id text PRIMARY KEY, n bigint)`;
  const stmts = (tx, i) => [tx`SELECT txid_current()`, tx`INSERT INTO t VALUES (${'k' + (i % 100)}, ${i}) ON CONFLICT (id) DO UPDATE SET n = EXCLUDED.n`];
  const paths = {
    begin: (i) => sql.begin((tx) => Promise.all(stmts(tx, i))),
    oneflight: async (i) => {
      const c = await sql.reserve();
      try {
        const all = [c`BEGIN`.execute(), ...stmts(c, i).map((q) => q.execute()), c`COMMIT`.execute()];
        await Promise.all(all);
      } finally {
        c.release();
      }
    },
    async_commit_oneflight: async (i) => {
      const c = await sql.reserve();
      try {
        const all = [c`BEGIN`.execute(), c`SET LOCAL synchronous_commit = off`.execute(), ...stmts(c, i).map((q) => q.execute()), c`COMMIT`.execute()];
        await Promise.all(all);
      } finally {
        c.release();
      }
    },
  };
  for (let round = 0; round < 2; round++) {
    for (const [name, f] of Object.entries(paths)) {
      const ts = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await f(i);
        ts.push(performance.now() - t0);
        if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      }
      ts.sort((a, b) => a - b);
      const q = (p) => ts[Math.floor(p * (ts.length - 1))].toFixed(3);
      console.log(`round ${round + 1} ${name.padEnd(24)} p50 ${q(0.5)} ms  p90 ${q(0.9)} ms  p99 ${q(0.99)} ms`);
    }
  }
  await sql.end();
} finally {
  await pg.stop();
  rmSync(dir, { recursive: true, force: true });
}
