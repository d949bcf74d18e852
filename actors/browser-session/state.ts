import type { Viewport } from '../../workers/browser/schemas.ts';

export type BrowserSessionStatus = 'starting' | 'active' | 'stopped' | 'failed';

export interface BrowserSessionState {
  exists: boolean;
  id: string;
  owner_id: string;
  space_id: string;
  worker_id: string;
  status: BrowserSessionStatus;
  reason: string | null;
  reason_message: string | null;
  url: string;
  viewport: Viewport;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  ended_at: string | null;
  /** Timing captured at creation so every process judges the session by the same numbers (not persisted). */
  idle_ms: number;
  liveness_ms: number;
}

export type BrowserSessionCommand =
  | { type: 'create'; ownerId: string; spaceId: string; workerId: string; url: string; viewport: Viewport; idleMs: number; lifetimeMs: number; livenessMs: number }
  | { type: 'activated'; url: string }
  /** Ownership check + touch before a page operation: 404 to anyone but the owner, 410 once ended. */
  | { type: 'use'; userId: string }
  | { type: 'get'; userId: string }
  | { type: 'navigated'; url: string }
  | { type: 'stop'; userId: string }
  | { type: 'fail'; reason: string; message: string };

export const LIVE = new Set<BrowserSessionStatus>(['starting', 'active']);
