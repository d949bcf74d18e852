import { randomBytes, randomInt, randomUUID } from 'node:crypto';

/**
 * Id formats of the original (spec 1.4): no type prefixes. Kept so that ids minted here look like Takos ids to any
 * client that pattern-matches them.
 */
const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

// Random bytes are drawn 4 KiB at a time: one randomBytes() call costs ~5-10 us whatever its size, and the actor
// runtime mints two ids per turn (command and timer ids), which made id generation ~7% of a heartbeat's CPU.
const POOL_SIZE = 4096;
let pool = Buffer.alloc(0);
let poolAt = 0;

function randomAlnum(length: number): string {
  // 256 % 36 != 0, so reject bytes >= 252 to keep the distribution uniform.
  let out = '';
  while (out.length < length) {
    if (poolAt >= pool.length) {
      pool = randomBytes(POOL_SIZE);
      poolAt = 0;
    }
    const b = pool[poolAt++]!;
    if (b < 252) out += ALNUM[b % 36];
  }
  return out;
}

/** Generic entity id: 12 chars of [a-z0-9] (spaces, repos, threads, messages, runs, PATs, ...). */
export const newId = (): string => randomAlnum(12);
/** Notification ids are 16 chars of [a-z0-9]. */
export const newNotificationId = (): string => randomAlnum(16);
/** User account ids: 32 hex chars; a user's personal space id equals the user id. */
export const newUserId = (): string => randomBytes(16).toString('hex');
/** Browser session ids: 32 hex. */
export const newHexId32 = (): string => randomBytes(16).toString('hex');
/** Web login session ids: base64url of 32 random bytes (43 chars). */
export const newSessionId = (): string => randomBytes(32).toString('base64url');
export const newUuid = (): string => randomUUID();
/** Short random id for 500 responses, so a user can quote it and an operator can find the log line. */
export const newErrorId = (): string => randomAlnum(8);
export const randomSuffix = (n: number): string => randomAlnum(n);
export { randomInt };

export const OPAQUE_ID = /^[A-Za-z0-9_-]{1,128}$/;
export const SLUG = /^[a-z0-9][a-z0-9-]{0,31}$/;

export const nowIso = (): string => new Date().toISOString();
export const toIso = (d: Date | string | null | undefined): string | null =>
  d == null ? null : (d instanceof Date ? d : new Date(d)).toISOString();
