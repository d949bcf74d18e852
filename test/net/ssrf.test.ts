import { describe, expect, it } from 'vitest';
import { SsrfBlockedError, SsrfGuard, classifyIp, parseIp, type Resolver } from '../../runtime/net/ssrf.ts';

// The URL + DNS guard on its own: no request is sent anywhere; names resolve through an injected resolver.

const table: Record<string, string[]> = {
  'public.test': ['93.184.216.34'],
  'private.test': ['10.1.2.3'],
  'mixed.test': ['93.184.216.34', '192.168.1.1'],
  'v6private.test': ['fd12:3456::1'],
  'mapped.test': ['::ffff:127.0.0.1'],
  'meta.test': ['169.254.169.254'],
  'loop.test': ['127.0.0.1'],
  'v6public.test': ['2606:4700:4700::1111'],
};
const resolver: Resolver = async (h) => {
  const a = table[h];
  if (!a) throw new Error('ENOTFOUND');
  return a.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

async function reason(guard: SsrfGuard, url: string): Promise<string | null> {
  try {
    await guard.check(url);
    return null;
  } catch (e) {
    expect(e).toBeInstanceOf(SsrfBlockedError);
    return (e as SsrfBlockedError).reason;
  }
}

describe('classifyIp', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.1', 'private'],
    ['169.254.169.254', 'metadata'],
    ['169.254.1.1', 'link_local'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fc00::1', 'unique_local'],
    ['fd00:ec2::254', 'metadata'],
    ['fe80::1', 'link_local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::a00:1', 'private'],
    ['2002:c0a8:0101::1', 'private'],
    ['2001:0:4136:e378::1', 'reserved'],
  ])('%s -> %s', (ip, want) => {
    expect(classifyIp(ip)).toBe(want);
  });

  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '2002:0808:0808::1'])('%s is public', (ip) => {
    expect(classifyIp(ip)).toBeNull();
  });

  it('parses IPv6 forms to the same bytes', () => {
    expect(parseIp('::ffff:127.0.0.1')).toEqual(parseIp('0:0:0:0:0:ffff:7f00:1'));
    expect(parseIp('[::1]')).toEqual(parseIp('0:0:0:0:0:0:0:1'));
    expect(parseIp('not-an-ip')).toBeNull();
  });
});

describe('SsrfGuard (loopback switch OFF, the default)', () => {
  const guard = new SsrfGuard({ resolver });

  it.each([
    ['http://public.test/', null],
    ['https://public.test:8443/x?y=1', null],
    ['https://v6public.test/', null],
    ['http://93.184.216.34/', null],
    ['ftp://public.test/', 'scheme'],
    ['file:///etc/passwd', 'scheme'],
    ['javascript:alert(1)', 'scheme'],
    ['http://user:pw@public.test/', 'credentials'],
    ['http://user@public.test/', 'credentials'],
    ['not a url', 'invalid_url'],
    ['http://localhost:8080/', 'loopback'],
    ['http://api.localhost/', 'loopback'],
    ['http://127.0.0.1/', 'loopback'],
    ['http://2130706433/', 'loopback'], // decimal form of 127.0.0.1, normalised by the URL parser
    ['http://0x7f.1/', 'loopback'],
    ['http://[::1]/', 'loopback'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://[::ffff:a9fe:a9fe]/', 'metadata'],
    ['http://10.0.0.5/', 'private'],
    ['http://192.168.1.1/', 'private'],
    ['http://172.20.0.1/', 'private'],
    ['http://169.254.169.254/latest/meta-data/', 'metadata'],
    ['http://100.64.1.1/', 'cgnat'],
    ['http://[fd00::1]/', 'unique_local'],
    ['http://[fe80::1]/', 'link_local'],
    ['http://0.0.0.0/', 'unspecified'],
    ['http://private.test/', 'private'],
    ['http://mixed.test/', 'private'],
    ['http://v6private.test/', 'unique_local'],
    ['http://mapped.test/', 'loopback'],
    ['http://meta.test/', 'metadata'],
    ['http://loop.test/', 'loopback'],
    ['http://nowhere.test/', 'unresolvable'],
  ])('%s -> %s', async (url, want) => {
    expect(await reason(guard, url)).toBe(want);
  });

  it('returns the checked addresses for the caller to dial', async () => {
    const r = await guard.resolveChecked('http://public.test/');
    expect(r.addresses).toEqual([{ address: '93.184.216.34', family: 4 }]);
    expect(r.url.hostname).toBe('public.test');
  });

  it('names the rule and the address in its message', async () => {
    const e = await guard.check('http://private.test/x').catch((err: unknown) => err as SsrfBlockedError);
    expect(e).toBeInstanceOf(SsrfBlockedError);
    expect((e as SsrfBlockedError).message).toBe('URL http://private.test/x points to a private network address (10.1.2.3)');
    expect((e as SsrfBlockedError).address).toBe('10.1.2.3');
  });
});

describe('SsrfGuard with the loopback switch ON', () => {
  const guard = new SsrfGuard({ resolver, allowLoopback: true });

  it('opens loopback only', async () => {
    expect(await reason(guard, 'http://127.0.0.1:3000/')).toBeNull();
    expect(await reason(guard, 'http://localhost/')).toBeNull();
    expect(await reason(guard, 'http://[::1]/')).toBeNull();
    expect(await reason(guard, 'http://loop.test/')).toBeNull();
    expect(await reason(guard, 'http://10.0.0.1/')).toBe('private');
    expect(await reason(guard, 'http://169.254.169.254/')).toBe('metadata');
    expect(await reason(guard, 'http://[fd00::1]/')).toBe('unique_local');
    expect(await reason(guard, 'http://user:pw@127.0.0.1/')).toBe('credentials');
  });

  it('extra deny ranges apply on top', async () => {
    const g = new SsrfGuard({ resolver, denyCidrs: ['93.184.216.0/24'] });
    expect(await reason(g, 'http://public.test/')).toBe('reserved');
    expect(await reason(g, 'http://[::ffff:93.184.216.34]/')).toBe('reserved');
  });
});
