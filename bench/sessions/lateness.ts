/**
 * Dead-session detection lateness at scale: two heartbeats per session through the real HTTP route (keep-alive
 * connections, `--concurrency` in flight; the first pass activates, the second is the one that counts), then
 * silence; every session is then due to be declared dead at its last heartbeat + its timeout, by its actor's
 * durable timer (the timeout must outlast the first pass). Lateness = when the actor declared it dead
 * (status_changed_at) minus that deadline, both on the actor's clock. Prints one JSON line.
 *
 * With --touch-only it just heartbeats every session once and exits (the bench's warm-up: every token verified and
 * cached, every session actor activated, as in steady state).
 *
 * Usage: node --import tsx bench/sessions/lateness.ts <web url> <sessions file> [--concurrency 64] [--touch-only]
 * Env: DATABASE_URL.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createDb } from '../../runtime/db.ts';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { concurrency: { type: 'string', default: '64' }, 'touch-only': { type: 'boolean', default: false } } });
const [url, file] = positionals;
if (!url || !file || !process.env.DATABASE_URL) throw new Error('usage: lateness.ts <web url> <sessions file>, DATABASE_URL set');
const sessions = (await readFile(file, 'utf8'))
  .trim()
  .split('\n')
  .map((l) => l.split(' ') as [string, string]);
const sql = createDb({ url: process.env.DATABASE_URL, max: 2 });

let ok = 0;
const failures: string[] = [];
/** One heartbeat to every session, `concurrency` in flight; returns how long it took (ms). */
async function pass(): Promise<number> {
  const started = performance.now();
  let next = 0;
  ok = 0;
  await Promise.all(
    Array.from({ length: Number(values.concurrency) }, async () => {
      while (next < sessions.length) {
        const [id, token] = sessions[next++]!;
        const r = await fetch(`${url}/api/sessions/${id}/heartbeat`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
        await r.arrayBuffer();
        if (r.status === 200) ok++;
        else if (failures.length < 5) failures.push(`${id}: ${r.status}`);
      }
    }),
  );
  return performance.now() - started;
}
// The first pass pays each session's first heartbeat (token verified, actor activated); the measured one follows at
// once, warm, so that the 10,000 deadlines fall within a few seconds of each other.
const warmMs = values['touch-only'] ? 0 : await pass();
const sendMs = await pass();
if (values['touch-only']) {
  await sql.end();
  process.stdout.write(JSON.stringify({ sessions: sessions.length, heartbeatsOk: ok, failures, sendMs: Math.round(sendMs) }) + '\n');
  process.exit(failures.length > 0 ? 1 : 0);
}

const ids = sessions.map(([id]) => id);
const [t] = await sql<{ timeout: number }[]>`SELECT max(heartbeat_timeout_ms) AS timeout FROM runtime_sessions WHERE id = ANY (${ids}::text[])`;
const timeout = t!.timeout;
const giveUp = Date.now() + timeout + 30_000;
for (;;) {
  const [r] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM runtime_sessions WHERE id = ANY (${ids}::text[]) AND status = 'running'`;
  if (r!.n === 0 || Date.now() > giveUp) break;
  await new Promise((r) => setTimeout(r, 250));
}
const rows = await sql<{ status: string; ended_reason: string | null; lateness: number | null }[]>`
  SELECT status, ended_reason,
         (extract(epoch FROM status_changed_at - (last_heartbeat + heartbeat_timeout_ms * interval '1 millisecond')) * 1000)::float8 AS lateness
  FROM runtime_sessions WHERE id = ANY (${ids}::text[])`;
const [sp] = await sql<{ spread: number }[]>`
  SELECT (extract(epoch FROM max(last_heartbeat) - min(last_heartbeat)) * 1000)::float8 AS spread FROM runtime_sessions WHERE id = ANY (${ids}::text[])`;
const spread = sp!.spread;
await sql.end();

const dead = rows.filter((r) => r.status === 'dead' && r.ended_reason === 'heartbeat_timeout');
const late = dead.map((r) => r.lateness!).sort((a, b) => a - b);
const q = (p: number) => (late.length ? late[Math.min(late.length - 1, Math.floor(late.length * p))]! : null);
process.stdout.write(
  JSON.stringify({
    sessions: sessions.length,
    warmPassMs: Math.round(warmMs),
    heartbeatsOk: ok,
    failures,
    sendMs: Math.round(sendMs),
    heartbeatSpreadMs: Math.round(spread),
    timeoutMs: timeout,
    dead: dead.length,
    notDead: rows.length - dead.length,
    early: late.filter((x) => x < 0).length,
    latenessMs: { min: q(0), p50: q(0.5), p90: q(0.9), p99: q(0.99), max: late.length ? late[late.length - 1] : null },
  }) + '\n',
);
