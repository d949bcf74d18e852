import type { Sql } from '../db.ts';

/**
 * `last_used_at` of PATs, written in batches: a hot PAT costs one map write per request and one UPDATE per flush
 * interval for all tokens used in it, instead of one UPDATE per request as in the original.
 */
export class PatToucher {
  private pending = new Map<string, Date>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly sql: Sql,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.flush().catch(this.onError), this.intervalMs);
    this.timer.unref();
  }

  touch(patId: string, at = new Date()): void {
    this.pending.set(patId, at);
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    const ids = [...batch.keys()];
    const times = ids.map((id) => batch.get(id)!.toISOString());
    await this.sql`
      UPDATE personal_access_tokens AS p SET last_used_at = v.ts
      FROM unnest(${this.sql.array(ids)}::text[], ${this.sql.array(times)}::timestamptz[]) AS v(id, ts)
      WHERE p.id = v.id AND (p.last_used_at IS NULL OR p.last_used_at < v.ts)`;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }
}
