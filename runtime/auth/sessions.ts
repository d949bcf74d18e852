import type { Redis } from 'ioredis';
import { newSessionId } from '../ids.ts';
import type { RedisKeys } from '../keys.ts';

/**
 * Web login sessions (cookie `__Host-tp_session`, or the same id sent as a bearer by the CLI): a JSON record in Redis
 * whose TTL is the session lifetime, so expiry needs no sweep. The original's node mode stubbed this store out and
 * cookie sessions never resolved (spec 2.3); here they work on every process.
 */
export const SESSION_COOKIE = '__Host-tp_session';
export const SESSION_TTL_SECONDS = 7 * 24 * 3600;
export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;

export interface WebSession {
  id: string;
  user_id: string;
  created_at: number;
  expires_at: number;
}

export class SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async create(userId: string, ttlSeconds = SESSION_TTL_SECONDS): Promise<WebSession> {
    const now = Date.now();
    const s: WebSession = { id: newSessionId(), user_id: userId, created_at: now, expires_at: now + ttlSeconds * 1000 };
    await this.redis
      .multi()
      .set(this.keys.webSession(s.id), JSON.stringify(s), 'EX', ttlSeconds)
      .sadd(this.keys.userSessions(userId), s.id)
      .expire(this.keys.userSessions(userId), ttlSeconds)
      .exec();
    return s;
  }

  async get(id: string): Promise<WebSession | null> {
    if (!SESSION_ID_PATTERN.test(id)) return null;
    const raw = await this.redis.get(this.keys.webSession(id));
    if (!raw) return null;
    const s = JSON.parse(raw) as WebSession;
    return s.expires_at > Date.now() ? s : null;
  }

  async delete(id: string): Promise<WebSession | null> {
    const s = await this.get(id);
    await this.redis.del(this.keys.webSession(id));
    if (s) await this.redis.srem(this.keys.userSessions(s.user_id), id);
    return s;
  }

  async deleteAllForUser(userId: string): Promise<number> {
    const ids = await this.redis.smembers(this.keys.userSessions(userId));
    if (ids.length > 0) await this.redis.del(...ids.map((id) => this.keys.webSession(id)));
    await this.redis.del(this.keys.userSessions(userId));
    return ids.length;
  }
}

export function sessionCookie(id: string, maxAge = SESSION_TTL_SECONDS): string {
  return `${SESSION_COOKIE}=${id}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=${maxAge}`;
}

export const clearSessionCookie = (): string => `${SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`;

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    if (part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}
