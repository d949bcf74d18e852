import { SignJWT, jwtVerify } from 'jose';

/**
 * Internal calls (a session runtime's heartbeats, workers calling back into the API) authenticate with a short-lived
 * HS256 token signed with SERVICE_TOKEN_SECRET and sent as `Authorization: Bearer tak_svc_<jwt>`. This replaces the
 * original's `X-Takos-Internal` header pair, which any client could forge to act as any user (spec 2.1).
 */
export const SERVICE_TOKEN_PREFIX = 'tak_svc_';
const AUDIENCE = 'takos-internal';

export interface ServiceClaims {
  sub: string;
  /** Runtime session the token is bound to, if any. */
  sid?: string;
  /** Space the token is bound to, if any. */
  spc?: string;
}

export class ServiceTokens {
  private readonly key: Uint8Array;

  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
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

  /** The token's claims and its expiry (`exp`, epoch seconds), or null when it is not a valid, current token. */
  async verify(token: string): Promise<(ServiceClaims & { exp?: number }) | null> {
    if (!token.startsWith(SERVICE_TOKEN_PREFIX)) return null;
    try {
      const { payload } = await jwtVerify(token.slice(SERVICE_TOKEN_PREFIX.length), this.key, { audience: AUDIENCE, algorithms: ['HS256'] });
      if (typeof payload.sub !== 'string') return null;
      return {
        sub: payload.sub,
        ...(typeof payload.sid === 'string' ? { sid: payload.sid } : {}),
        ...(typeof payload.spc === 'string' ? { spc: payload.spc } : {}),
        ...(typeof payload.exp === 'number' ? { exp: payload.exp } : {}),
      };
    } catch {
      return null;
    }
  }
}
