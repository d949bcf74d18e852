import { SignJWT, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { ServiceTokens } from '../../runtime/auth/service-token.ts';

/**
 * The session heartbeat token's verification (node:crypto HMAC, not jose, for speed): what jose would accept for
 * the tokens `sign` issues is accepted, and every kind of forgery or stale token is refused.
 */
const SECRET = 's'.repeat(48);
const key = new TextEncoder().encode(SECRET);
const tokens = new ServiceTokens(SECRET);
const now = () => Math.floor(Date.now() / 1000);
const craft = (payload: Record<string, unknown>, header: Record<string, unknown> = { alg: 'HS256' }, k = key) =>
  new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(k).then((j) => `tak_svc_${j}`);

describe('ServiceTokens.verify', () => {
  it('accepts what sign issues (as jose does), with its claims and expiry', async () => {
    const t = await tokens.sign({ sub: 'user1', sid: 'sess1', spc: 'space1' }, 120);
    const v = await tokens.verify(t);
    expect(v).toEqual({ sub: 'user1', sid: 'sess1', spc: 'space1', exp: expect.any(Number) });
    expect(v!.exp! - now()).toBeGreaterThan(100);
    const j = await jwtVerify(t.slice(8), key, { audience: 'takos-internal', algorithms: ['HS256'] });
    expect(j.payload).toMatchObject({ sub: 'user1', sid: 'sess1', spc: 'space1' });
    expect(await tokens.verify(await tokens.sign({ sub: 'u' }))).toEqual({ sub: 'u', exp: expect.any(Number) });
  });

  it('refuses other secrets, tampering, other algorithms and headers, stale or foreign claims', async () => {
    const good = await tokens.sign({ sub: 'user1', sid: 'sess1' });
    const [h, p, s] = good.slice(8).split('.') as [string, string, string];
    const swapped = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: 'admin' })).toString('base64url');
    const base = { aud: 'takos-internal', sub: 'u', exp: now() + 60 };
    const bad = [
      await new ServiceTokens('o'.repeat(48)).sign({ sub: 'user1' }),
      `tak_svc_${h}.${swapped}.${s}`,
      `tak_svc_${h}.${p}.${s}x`,
      `tak_svc_${h}.${p}.${s.slice(0, -1)}`,
      `tak_svc_${h}.${p}.${s}!!`,
      `tak_svc_${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`,
      `tak_svc_${h}.${p}`,
      good.slice(8),
      await craft(base, { alg: 'HS256', kid: 'x' }),
      await craft(base, { alg: 'HS512' }, new TextEncoder().encode(SECRET)),
      await craft({ ...base, exp: now() - 1 }),
      await craft({ ...base, exp: undefined }),
      await craft({ ...base, aud: 'someone-else' }),
      await craft({ ...base, aud: undefined }),
      await craft({ ...base, nbf: now() + 60 }),
      await craft({ ...base, sub: undefined }),
      await craft({ ...base, sub: 42 }),
      'tak_svc_not.a.jwt',
      'tak_pat_whatever',
    ];
    for (const t of bad) expect(await tokens.verify(t), t).toBeNull();
    expect(await tokens.verify(await craft({ ...base, aud: ['x', 'takos-internal'] }))).toMatchObject({ sub: 'u' });
  });
});
