import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '../harness.ts';
import { spawnApp } from '../support/spawn-app.ts';
import { until } from '../streams/fixture.ts';

/**
 * Reminders due while every process is down fire exactly once after a process comes back: no firing while down,
 * none early, one per reminder however long the outage, none repeated by later owners. The primary test server
 * keeps the database; "down" means no actor system is running anywhere.
 */
const FAST = { leaseTtlMs: 1_000, renewEveryMs: 250, timerPollMs: 50 };
const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const reminderNotes = async (s: TestServer, u: TestUser) =>
  s.kernel.sql<{ reminder_id: string; created_at: Date }[]>`
    SELECT data->>'reminder_id' AS reminder_id, created_at FROM notifications WHERE user_id = ${u.id} AND type = 'reminder.triggered'`;

async function createTimeReminders(s: TestServer, u: TestUser, dues: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const due of dues) {
    const r = await s.request('POST', '/api/spaces/me/reminders', { token: u.token, body: { content: `due ${due}`, trigger_type: 'time', trigger_value: due } });
    expect(r.status).toBe(201);
    ids.push(r.body.id);
  }
  return ids;
}

describe('every process stopped gracefully', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ actors: FAST });
  });
  afterAll(() => s.close());

  it('reminders due during the outage fire once each after restart; one due later waits for its time', async () => {
    const u = await s.user();
    const downDues = [inMs(1_000), inMs(1_100), inMs(1_200), inMs(1_300), inMs(1_400)];
    const laterDue = inMs(6_000);
    const ids = await createTimeReminders(s, u, [...downDues, laterDue]);
    await s.deps.actors.stop();
    await sleep(2_500);
    // Nothing ran while no process was up.
    const states = await s.kernel.sql<{ status: string }[]>`SELECT status FROM reminders WHERE id = ANY(${ids})`;
    expect(states.every((r) => r.status === 'pending')).toBe(true);
    expect(await reminderNotes(s, u)).toHaveLength(0);

    const back = await startTestServer({ attachTo: s, actors: FAST });
    try {
      await until(async () => (await reminderNotes(s, u)).length >= 5, 10_000, 'the five missed reminders');
      const notes = await reminderNotes(s, u);
      expect(notes.map((n) => n.reminder_id).sort()).toEqual(ids.slice(0, 5).sort());
      for (const [i, id] of ids.slice(0, 5).entries()) {
        const n = notes.find((x) => x.reminder_id === id)!;
        expect(n.created_at.getTime()).toBeGreaterThanOrEqual(Date.parse(downDues[i]!));
      }
      // The later one has not fired early.
      expect((await s.kernel.sql`SELECT status FROM reminders WHERE id = ${ids[5]!}`)[0]!.status).toBe('pending');
      // A second process joining, and the first leaving, re-fire nothing.
      const third = await startTestServer({ attachTo: s, actors: FAST });
      await sleep(500);
      await back.close();
      try {
        await until(async () => (await reminderNotes(s, u)).length >= 6, 10_000, 'the later reminder at its time');
        const later = (await reminderNotes(s, u)).find((n) => n.reminder_id === ids[5]);
        expect(later!.created_at.getTime()).toBeGreaterThanOrEqual(Date.parse(laterDue));
        await sleep(800);
        expect(await reminderNotes(s, u)).toHaveLength(6);
      } finally {
        await third.close();
      }
    } finally {
      await back.close().catch(() => undefined);
    }
  });
});

describe('the last owner killed with SIGKILL', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ actors: FAST });
  });
  afterAll(() => s.close());

  it('a reminder due while no process lives fires exactly once when one starts', async () => {
    const u = await s.user();
    const child = await spawnApp(s, { CHILD_HOSTING: '1', CHILD_RUNS_WORKER: '0' });
    const due = inMs(2_500);
    const [id] = await createTimeReminders(s, u, [due]);
    // The child becomes the only owner, then dies without a chance to hand anything over.
    await s.deps.actors.stop();
    await sleep(300);
    await child.kill9();
    await sleep(Math.max(0, Date.parse(due) - Date.now()) + 1_500);
    expect((await s.kernel.sql`SELECT status FROM reminders WHERE id = ${id!}`)[0]!.status).toBe('pending');
    expect(await reminderNotes(s, u)).toHaveLength(0);

    const back = await startTestServer({ attachTo: s, actors: FAST });
    try {
      await until(async () => (await reminderNotes(s, u)).length >= 1, 15_000, 'the missed reminder');
      await sleep(1_000);
      const notes = await reminderNotes(s, u);
      expect(notes).toHaveLength(1);
      expect(notes[0]!.created_at.getTime()).toBeGreaterThanOrEqual(Date.parse(due));
      const row = (await s.kernel.sql`SELECT status, fire_count, delivered_count FROM reminders WHERE id = ${id!}`)[0]!;
      expect(row).toMatchObject({ status: 'triggered', fire_count: 1, delivered_count: 1 });
    } finally {
      await back.close();
    }
  });
});

describe('a crash between a firing and its notification', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ actors: FAST });
  });
  afterAll(() => s.close());

  it('the deliver timer re-sends the firing after restart, and it lands once', async () => {
    const u = await s.user();
    const r = await s.request('POST', '/api/spaces/me/reminders', { token: u.token, body: { content: 'Lost in transit', trigger_type: 'condition' } });
    const id = r.body.id as string;
    await s.request('POST', `/api/reminders/${id}/trigger`, { token: u.token });
    await until(async () => (await s.kernel.sql`SELECT delivered_count FROM reminders WHERE id = ${id}`)[0]!.delivered_count === 1, 5_000, 'acknowledged');
    await s.deps.actors.stop();
    // Rewind to what a crash right after the firing's commit leaves: fired and not delivered, the retry timer
    // pending, and the inbox never saw the command (no notification, no command record).
    const partition = s.deps.actors.partitionOf('reminder', id);
    await s.kernel.sql.begin(async (tx) => {
      await tx`UPDATE reminders SET delivered_count = 0 WHERE id = ${id}`;
      await tx`DELETE FROM notifications WHERE user_id = ${u.id}`;
      await tx`DELETE FROM actor_commands WHERE kind = 'inbox' AND command_id = ${`reminder:${id}:1`}`;
      await tx`INSERT INTO actor_timers (kind, actor_id, name, partition, fire_at, timer_id, payload)
               VALUES ('reminder', ${id}, 'deliver', ${partition}, now(), 'rewound', ${tx.json({ attempt: 1 })})`;
    });
    const back = await startTestServer({ attachTo: s, actors: FAST });
    try {
      await until(async () => (await reminderNotes(s, u)).length >= 1, 10_000, 're-sent notification');
      await until(async () => (await s.kernel.sql`SELECT delivered_count FROM reminders WHERE id = ${id}`)[0]!.delivered_count === 1, 5_000, 'acknowledged again');
      await sleep(500);
      expect(await reminderNotes(s, u)).toHaveLength(1);
      // Acknowledged: the retry timer is gone, nothing more will be sent.
      expect(await s.kernel.sql`SELECT 1 FROM actor_timers WHERE kind = 'reminder' AND actor_id = ${id}`).toHaveLength(0);
    } finally {
      await back.close();
    }
  });
});
