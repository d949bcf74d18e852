import { expect } from 'vitest';
import type { TestServer, TestUser } from '../harness.ts';
import { readSse, until, type SseFrame } from '../streams/fixture.ts';

/**
 * Helpers for the notification and reminder tests. Notifications are produced the real way: a reminder in the
 * user's personal space fired through `POST /api/reminders/:id/trigger` (each call is one firing, one
 * notification), or a member added to a space.
 */
export async function reminderIn(s: TestServer, user: TestUser, spaceRef = 'me', body: Record<string, unknown> = {}): Promise<string> {
  const r = await s.request('POST', `/api/spaces/${spaceRef}/reminders`, { token: user.token, body: { content: 'Ping', trigger_type: 'condition', ...body } });
  expect(r.status).toBe(201);
  return r.body.id as string;
}

/** Fires the reminder `n` times and waits until the user's inbox holds `expectTotal` notifications in all. */
export async function fire(s: TestServer, user: TestUser, reminderId: string, n = 1, expectTotal?: number): Promise<void> {
  for (let i = 0; i < n; i++) expect((await s.request('POST', `/api/reminders/${reminderId}/trigger`, { token: user.token })).status).toBe(200);
  if (expectTotal !== undefined) await waitStored(s, user, expectTotal);
}

/** Rows in the user's notifications table (whatever the list filters), straight from the database. */
export async function storedCount(s: TestServer, user: TestUser): Promise<number> {
  const [r] = await s.kernel.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM notifications WHERE user_id = ${user.id}`;
  return r!.n;
}

export async function waitStored(s: TestServer, user: TestUser, n: number, timeoutMs = 10_000): Promise<void> {
  let got = -1;
  await until(async () => (got = await storedCount(s, user)) >= n, timeoutMs, () => `${n} notifications for ${user.username} (have ${got})`);
  expect(await storedCount(s, user)).toBe(n);
}

export async function list(s: TestServer, user: TestUser, query = '') {
  const r = await s.request('GET', `/api/notifications${query}`, { token: user.token });
  expect(r.status).toBe(200);
  return r.body.notifications as Array<Record<string, unknown> & { id: string; type: string; stream_id: number | null; created_at: string; read_at: string | null; data: Record<string, unknown> }>;
}

export async function unread(s: TestServer, user: TestUser): Promise<number> {
  const r = await s.request('GET', '/api/notifications/unread-count', { token: user.token });
  expect(r.status).toBe(200);
  return r.body.unread_count as number;
}

/** An SSE subscriber on /api/notifications/sse collecting frames until closed. */
export function sseClient(url: string, token: string, opts: { lastEventId?: number; query?: string } = {}) {
  const frames: SseFrame[] = [];
  const ctl = new AbortController();
  let connected = false;
  const ended: { error?: unknown } = {};
  const done = (async () => {
    try {
      const gen = readSse(`${url}/api/notifications/sse${opts.query ?? ''}`, {
        signal: ctl.signal,
        headers: { authorization: `Bearer ${token}` },
        ...(opts.lastEventId !== undefined ? { lastEventId: opts.lastEventId } : {}),
      });
      for await (const f of gen) {
        if (f.comment === 'connected') connected = true;
        frames.push(f);
      }
    } catch (err) {
      // Aborted by close(), or cut by the server going away (which a test may do on purpose): the stream ended.
      if ((err as Error).name !== 'AbortError') ended.error = err;
    }
  })();
  return {
    frames,
    /** Stream ids of the notification frames received, in order. */
    ids: () => frames.filter((f) => f.event === 'notification.new').map((f) => f.id!),
    events: () => frames.filter((f) => f.event !== undefined),
    connected: () => until(() => connected, 5_000, 'SSE connected'),
    close: async () => {
      ctl.abort();
      await done;
    },
    done,
    ended,
  };
}
