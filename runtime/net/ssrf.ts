import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/**
 * Server-side request forgery guard: decides whether the server may fetch a URL on a user's behalf.
 *
 * Rules (all of them, every time, for the first request and every redirect hop):
 *  - scheme http or https only; no user:password in the URL;
 *  - the host's addresses, after DNS resolution, must all be public unicast: loopback, private (RFC 1918),
 *    link-local (incl. the 169.254.169.254 metadata service), CGNAT 100.64/10, unique-local fc00::/7, multicast,
 *    unspecified, broadcast, benchmarking and reserved ranges are refused, for IPv4 and IPv6; IPv6 forms that
 *    carry an IPv4 address (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16) are
 *    judged by that IPv4 address; Teredo 2001::/32 is refused (its embedded address is not trustworthy).
 *  - a host whose addresses are partly public and partly internal is refused: picking "the public one" would let
 *    the caller race the resolver.
 *
 * `allowLoopback` (off by default) opens 127/8 and ::1 only, so tests can serve pages from 127.0.0.1; every other
 * internal range stays closed. The resolver is injectable so tests can map names to chosen addresses without a DNS
 * server, and so a caller that connects itself can pin the checked address (see `resolveChecked`).
 */

export type SsrfReason =
  | 'invalid_url'
  | 'scheme'
  | 'credentials'
  | 'unresolvable'
  | 'loopback'
  | 'private'
  | 'link_local'
  | 'metadata'
  | 'cgnat'
  | 'unique_local'
  | 'multicast'
  | 'unspecified'
  | 'reserved';

export class SsrfBlockedError extends Error {
  readonly reason: SsrfReason;
  readonly url: string;
  readonly address: string | undefined;
  constructor(reason: SsrfReason, url: string, message: string, address?: string) {
    super(message);
    this.name = 'SsrfBlockedError';
    this.reason = reason;
    this.url = url;
    this.address = address;
  }
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface SsrfGuardOptions {
  /** Open 127.0.0.0/8 and ::1 (and the name `localhost`). For tests and single-machine development only. */
  allowLoopback?: boolean;
  /** Extra CIDRs to refuse on top of the built-in list (e.g. an operator's own public ranges). */
  denyCidrs?: string[];
  resolver?: Resolver;
}

export const systemResolver: Resolver = async (hostname) => {
  const rows = await lookup(hostname, { all: true, verbatim: true });
  return rows.map((r) => ({ address: r.address, family: r.family === 6 ? 6 : 4 }));
};

// --- address parsing ----------------------------------------------------------------------------------------------

/** 16 bytes for IPv6, 4 for IPv4; null when `ip` is not a literal address. */
export function parseIp(ip: string): Uint8Array | null {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  const kind = isIP(bare);
  if (kind === 4) return Uint8Array.from(bare.split('.').map(Number));
  if (kind !== 6) return null;
  const noZone = bare.split('%')[0]!;
  let text = noZone;
  const tail: number[] = [];
  // A dotted IPv4 tail (::ffff:1.2.3.4) is two 16-bit groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = dotted[1]!.split('.').map(Number);
    tail.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    text = text.slice(0, -dotted[1]!.length);
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);
  }
  const [head, rest] = text.includes('::') ? text.split('::') : [text, undefined];
  const parse = (s: string | undefined) => (s ? s.split(':').filter((g) => g !== '').map((g) => parseInt(g, 16)) : []);
  const left = parse(head);
  const right = [...parse(rest), ...tail];
  const groups = rest === undefined && !text.includes('::') ? [...left, ...tail] : [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
  if (groups.length !== 8) return null;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

interface Cidr {
  bytes: Uint8Array;
  bits: number;
}

function parseCidr(cidr: string): Cidr {
  const [ip, bits] = cidr.split('/');
  const bytes = parseIp(ip ?? '');
  if (!bytes) throw new Error(`invalid CIDR ${cidr}`);
  return { bytes, bits: bits === undefined ? bytes.length * 8 : Number(bits) };
}

function inCidr(addr: Uint8Array, c: Cidr): boolean {
  if (addr.length !== c.bytes.length) return false;
  let bits = c.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((addr[i]! & mask) !== (c.bytes[i]! & mask)) return false;
  }
  return true;
}

const table = (rows: Array<[string, SsrfReason]>) => rows.map(([c, r]) => ({ cidr: parseCidr(c), reason: r }));

// Order matters: the metadata address is reported as such rather than as generic link-local.
const V4_RULES = table([
  ['169.254.169.254/32', 'metadata'],
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'cgnat'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link_local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'], // IETF protocol assignments (incl. 192.0.0.170/171 NAT64 discovery)
  ['192.0.2.0/24', 'reserved'], // documentation
  ['192.88.99.0/24', 'reserved'], // 6to4 relay anycast
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'reserved'], // benchmarking
  ['198.51.100.0/24', 'reserved'],
  ['203.0.113.0/24', 'reserved'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'], // incl. 255.255.255.255 broadcast
]);

const V6_RULES = table([
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['fd00:ec2::254/128', 'metadata'], // AWS IPv6 metadata endpoint (inside fc00::/7 anyway)
  ['fc00::/7', 'unique_local'],
  ['fe80::/10', 'link_local'],
  ['fec0::/10', 'private'], // deprecated site-local
  ['ff00::/8', 'multicast'],
  ['2001::/32', 'reserved'], // Teredo
  ['2001:db8::/32', 'reserved'], // documentation
  ['100::/64', 'reserved'], // discard-only
]);

/** IPv6 forms that carry an IPv4 address: return it, so it is judged by the IPv4 rules. */
function embeddedV4(a: Uint8Array): Uint8Array | null {
  const zero = (from: number, to: number) => a.slice(from, to).every((b) => b === 0);
  if (zero(0, 10) && a[10] === 0xff && a[11] === 0xff) return a.slice(12); // ::ffff:a.b.c.d (mapped)
  if (zero(0, 12)) return a.slice(12); // ::a.b.c.d (compatible, deprecated); :: and ::1 are matched before this
  if (a[0] === 0x00 && a[1] === 0x64 && a[2] === 0xff && a[3] === 0x9b && zero(4, 12)) return a.slice(12); // 64:ff9b::/96 NAT64
  if (a[0] === 0x20 && a[1] === 0x02) return a.slice(2, 6); // 2002:AABB:CCDD::/16 6to4
  return null;
}

/** Why `ip` may not be contacted, or null when it is a public unicast address. */
export function classifyIp(ip: string): SsrfReason | null {
  const a = parseIp(ip);
  if (!a) return 'invalid_url';
  if (a.length === 4) return V4_RULES.find((r) => inCidr(a, r.cidr))?.reason ?? null;
  const v6 = V6_RULES.find((r) => inCidr(a, r.cidr));
  if (v6) return v6.reason;
  const v4 = embeddedV4(a);
  return v4 ? (V4_RULES.find((r) => inCidr(v4, r.cidr))?.reason ?? null) : null;
}

const REASON_TEXT: Record<SsrfReason, string> = {
  invalid_url: 'is not a valid URL',
  scheme: 'uses a scheme other than http or https',
  credentials: 'contains credentials',
  unresolvable: 'has a host name that does not resolve',
  loopback: 'points to a loopback address',
  private: 'points to a private network address',
  link_local: 'points to a link-local address',
  metadata: 'points to a cloud metadata service',
  cgnat: 'points to a carrier-grade NAT address',
  unique_local: 'points to a unique-local IPv6 address',
  multicast: 'points to a multicast address',
  unspecified: 'points to an unspecified address',
  reserved: 'points to a reserved address',
};

const isLocalhostName = (host: string): boolean => {
  const h = host.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost');
};

const shortUrl = (u: string) => (u.length > 200 ? `${u.slice(0, 200)}...` : u);

// --- the guard ----------------------------------------------------------------------------------------------------

export class SsrfGuard {
  readonly allowLoopback: boolean;
  private readonly resolver: Resolver;
  private readonly deny: Cidr[];

  constructor(opts: SsrfGuardOptions = {}) {
    this.allowLoopback = opts.allowLoopback ?? false;
    this.resolver = opts.resolver ?? systemResolver;
    this.deny = (opts.denyCidrs ?? []).map(parseCidr);
  }

  private block(reason: SsrfReason, url: string, address?: string): never {
    const where = address ? ` (${address})` : '';
    throw new SsrfBlockedError(reason, url, `URL ${shortUrl(url)} ${REASON_TEXT[reason]}${where}`, address);
  }

  /** Why the address may not be contacted under this guard's settings, or null. */
  addressVerdict(address: string): SsrfReason | null {
    const parsed = parseIp(address);
    if (parsed && this.deny.some((c) => inCidr(parsed, c) || (parsed.length === 16 && embeddedV4(parsed) && inCidr(embeddedV4(parsed)!, c)))) return 'reserved';
    const reason = classifyIp(address);
    if (reason === 'loopback' && this.allowLoopback) return null;
    return reason;
  }

  /** Synchronous checks that need no DNS: scheme, credentials, literal addresses, `localhost`. */
  checkSyntax(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return this.block('invalid_url', raw);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') this.block('scheme', raw);
    if (url.username || url.password) this.block('credentials', raw);
    const host = url.hostname;
    if (!host) this.block('invalid_url', raw);
    // `localhost` may resolve to anything in /etc/hosts; treat the whole name space as loopback, as browsers do.
    if (isLocalhostName(host) && !this.allowLoopback) this.block('loopback', raw);
    if (parseIp(host)) {
      const reason = this.addressVerdict(host);
      if (reason) this.block(reason, raw, host.replace(/^\[|\]$/g, ''));
    }
    return url;
  }

  /**
   * The full check: syntax, then DNS. Returns the checked addresses so a caller that opens the connection itself can
   * connect to exactly these (no second lookup an attacker's DNS could answer differently).
   */
  async resolveChecked(raw: string): Promise<{ url: URL; addresses: ResolvedAddress[] }> {
    const url = this.checkSyntax(raw);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (parseIp(host)) return { url, addresses: [{ address: host, family: isIP(host) === 6 ? 6 : 4 }] };
    // RFC 6761: `localhost` names are loopback by definition (checkSyntax refused them unless loopback is allowed);
    // answering here keeps /etc/hosts or a DNS server from pointing them anywhere else.
    if (isLocalhostName(host)) return { url, addresses: [{ address: '127.0.0.1', family: 4 }] };
    let addresses: ResolvedAddress[];
    try {
      addresses = await this.resolver(host);
    } catch {
      return this.block('unresolvable', raw);
    }
    if (addresses.length === 0) this.block('unresolvable', raw);
    for (const a of addresses) {
      const reason = this.addressVerdict(a.address);
      if (reason) this.block(reason, raw, a.address);
    }
    return { url, addresses };
  }

  async check(raw: string): Promise<URL> {
    return (await this.resolveChecked(raw)).url;
  }
}
