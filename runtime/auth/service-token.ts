import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';

/**
 * Internal calls (a session runtime's heartbeats, workers calling back into the API) authenticate with a short-lived
 * HS256 token signed with SERVICE_TOKEN_SECRET and sent as `Authorization: Bearer tak_svc_<jwt>`. This replaces the
 * original's `X-Takos-Internal` header pair, which any client could forge to act as any user (spec 2.1).
 */
export const SERVICE_TOKEN_PREFIX = 'tak_svc_';
const AUDIENCE = 'takos-internal';
/** base64url of {"alg":"HS256"}: the only protected header `sign` writes, hence the only one `verify` accepts. */
const HS256_HEADER = Buffer.from(JSON.stringify({ alg: 'HS256' })).toString('base64url');

export interface ServiceClaims {
  sub: string;
  /** Runtime session the token is bound to, if any. */
  sid?: string;
  /** Space the token is bound to, if any. */
  spc?: string;
}

export class ServiceTokens {
  private readonly key: Uint8Array;
  private readonly hmacKey: KeyObject;

  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
    this.hmacKey = createSecretKey(Buffer.from(this.key));
  }

  async sign(claims: ServiceClaims, ttlSeconds = 3600): Promise<string> {
    const jwt = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'HS256' })
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(this.key);
    return SERVICE_TOKEN_PREFIX + jwt;
  }

  /**
   * The token's claims and its expiry (`exp`, epoch seconds), or null when it is not a valid, current token.
   *
   * Verified here with node:crypto rather than jose's jwtVerify: a session runtime heartbeats every 30 s with a token
   * the auth cache keeps 60 s, so every other heartbeat verifies one, and jose (WebCrypto: key import and an async
   * job per call) cost 60-290 us a verification against ~5 us for one HMAC. The rules are jose's for what `sign`
   * issues: the protected header must be exactly {"alg":"HS256"} (no other algorithm, no `none`), the signature is
   * compared in constant time, `aud` must name us, `exp` must be in the future and `nbf`, if any, not.
   */
  async verify(token: string): Promise<(ServiceClaims & { exp?: number }) | null> {
    if (!token.startsWith(SERVICE_TOKEN_PREFIX)) return null;
    const parts = token.slice(SERVICE_TOKEN_PREFIX.length).split('.');
    if (parts.length !== 3) return null;
    const [h, p, sig] = parts as [string, string, string];
    if (h !== HS256_HEADER) return null;
    const expected = createHmac('sha256', this.hmacKey).update(`${h}.${p}`).digest();
    const given = Buffer.from(sig, 'base64url');
    // Buffer's decoder skips characters outside the alphabet: insist on the canonical spelling (as jose does).
    if (given.length !== expected.length || given.toString('base64url') !== sig || !timingSafeEqual(given, expected)) return null;
    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return null;
    }
    if (!payload || typeof payload !== 'object' || typeof payload.sub !== 'string') return null;
    const now = Math.floor(Date.now() / 1000);
    const aud = payload.aud;
    if (!(aud === AUDIENCE || (Array.isArray(aud) && aud.includes(AUDIENCE)))) return null;
    if (typeof payload.exp !== 'number' || payload.exp <= now) return null;
    if (payload.nbf !== undefined && (typeof payload.nbf !== 'number' || payload.nbf > now)) return null;
    return {
      sub: payload.sub,
      ...(typeof payload.sid === 'string' ? { sid: payload.sid } : {}),
      ...(typeof payload.spc === 'string' ? { spc: payload.spc } : {}),
      exp: payload.exp,
    };
  }
}
