import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Password hashes of password-protected thread shares: scrypt (memory-hard, in node:crypto, no dependency) with a
 * 16-byte random salt, stored as `scrypt$N$r$p$<salt>$<hash>` (base64url) so the cost can be raised later without
 * invalidating stored hashes. The original used PBKDF2-SHA256 with 100,000 iterations (`<salt hex>:<hash hex>`).
 *
 * Cost: N=2^14, r=8, p=1 (16 MiB, ~40 ms on this machine class). Verification runs at most 5 times a minute per
 * share (the /access limiter), so the cost bounds CPU spent on guessing, not on ordinary traffic.
 */
const N = 16384;
const R = 8;
const P = 1;
const KEYLEN = 32;

function derive(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, keylen, { ...opts, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))));
}

export async function hashSharePassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await derive(password, salt, KEYLEN, { N, r: R, p: P });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

/** Constant-time comparison of the derived key; a malformed stored hash never verifies. */
export async function verifySharePassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![n, r, p].every((x) => Number.isSafeInteger(x) && x > 0) || n > 1 << 20) return false;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (expected.length === 0) return false;
  const actual = await derive(password, salt, expected.length, { N: n, r, p });
  return timingSafeEqual(actual, expected);
}
