import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Sql, TxSql } from '../../../runtime/db.ts';
import { newUuid, toIso } from '../../../runtime/ids.ts';

/**
 * Thread shares (spec 8.3, identity spec 5): the rows, their public shape, and the lookups the owner-side routes
 * (threads/shares.ts) and the public routes (public-share/) share.
 */

type Db = Sql | TxSql;

export const ShareModeSchema = z.enum(['public', 'password']);
export type ShareMode = z.infer<typeof ShareModeSchema>;

export const ShareSchema = z.object({
  id: z.string(),
  thread_id: z.string(),
  space_id: z.string(),
  created_by: z.string().nullable(),
  token: z.string(),
  mode: ShareModeSchema,
  expires_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
  last_accessed_at: z.string().nullable(),
  created_at: z.string(),
});

export interface ShareRow {
  id: string;
  thread_id: string;
  account_id: string;
  created_by_account_id: string | null;
  token: string;
  mode: ShareMode;
  password_hash: string | null;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_accessed_at: Date | null;
  created_at: Date;
}

export const shareView = (s: ShareRow): z.infer<typeof ShareSchema> => ({
  id: s.id,
  thread_id: s.thread_id,
  space_id: s.account_id,
  created_by: s.created_by_account_id,
  token: s.token,
  mode: s.mode,
  expires_at: toIso(s.expires_at),
  revoked_at: toIso(s.revoked_at),
  last_accessed_at: toIso(s.last_accessed_at),
  created_at: toIso(s.created_at)!,
});

/** 24 random bytes as base64url: 32 characters, no padding (spec 1.4). */
export const newShareToken = (): string => randomBytes(24).toString('base64url');
export const SHARE_TOKEN = /^[A-Za-z0-9_-]{32}$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function insertShare(
  db: Db,
  s: { threadId: string; spaceId: string; createdBy: string; mode: ShareMode; passwordHash: string | null; expiresAt: Date | null },
): Promise<ShareRow> {
  const [row] = await db<ShareRow[]>`
    INSERT INTO thread_shares (id, thread_id, account_id, created_by_account_id, token, mode, password_hash, expires_at)
    VALUES (${newUuid()}, ${s.threadId}, ${s.spaceId}, ${s.createdBy}, ${newShareToken()}, ${s.mode}, ${s.passwordHash}, ${s.expiresAt})
    RETURNING *`;
  return row!;
}

/** Newest first, revoked ones included (spec 8.3). */
export function listShares(db: Db, threadId: string): Promise<ShareRow[]> {
  return db<ShareRow[]>`SELECT * FROM thread_shares WHERE thread_id = ${threadId} ORDER BY created_at DESC, id`;
}

/** False when the share does not exist, belongs to another thread or is already revoked (all 404). */
export async function revokeShare(db: Db, threadId: string, shareId: string): Promise<boolean> {
  const rows = await db`
    UPDATE thread_shares SET revoked_at = clock_timestamp()
    WHERE id = ${shareId} AND thread_id = ${threadId} AND revoked_at IS NULL
    RETURNING id`;
  return rows.length > 0;
}

export interface LiveShare extends ShareRow {
  thread_title: string | null;
  thread_created_at: Date;
  thread_updated_at: Date;
}

/** The share behind a public token, or null when unknown, revoked, expired, or its thread is deleted. */
export async function findLiveShare(db: Db, token: string): Promise<LiveShare | null> {
  const [row] = await db<LiveShare[]>`
    SELECT s.*, t.title AS thread_title, t.created_at AS thread_created_at, t.updated_at AS thread_updated_at
    FROM thread_shares s JOIN threads t ON t.id = s.thread_id
    WHERE s.token = ${token} AND s.revoked_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > now())
      AND t.status <> 'deleted'`;
  return row ?? null;
}

/**
 * Records a successful access. Coarsened to one write per share per minute: a popular public link would otherwise
 * turn every page view into an UPDATE of the same row.
 */
export async function touchShare(db: Db, shareId: string): Promise<void> {
  await db`
    UPDATE thread_shares SET last_accessed_at = clock_timestamp()
    WHERE id = ${shareId} AND (last_accessed_at IS NULL OR last_accessed_at < now() - interval '1 minute')`;
}

export interface SharedMessageRow {
  id: string;
  role: 'user' | 'assistant';
  content: string;
  sequence: number;
  created_at: Date;
}

/** Only user and assistant messages are ever shown publicly (system/tool content stays private). */
export async function sharedMessages(db: Db, threadId: string, limit: number, offset: number): Promise<{ rows: SharedMessageRow[]; total: number }> {
  const [rows, count] = await Promise.all([
    db<SharedMessageRow[]>`
      SELECT id, role, content, sequence, created_at FROM messages
      WHERE thread_id = ${threadId} AND role IN ('user', 'assistant')
      ORDER BY sequence LIMIT ${limit} OFFSET ${offset}`,
    db<{ n: number }[]>`SELECT count(*)::int AS n FROM messages WHERE thread_id = ${threadId} AND role IN ('user', 'assistant')`,
  ]);
  return { rows, total: count[0]!.n };
}
