import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { SsrfBlockedError, type SsrfGuard } from '../../runtime/net/ssrf.ts';

/**
 * The browser's only way out: a local HTTP proxy (`--proxy-server`, with loopback not bypassed) that resolves each
 * target host with the SSRF guard and connects to exactly the address it checked.
 *
 * Request interception (guard.ts) already refuses blocked URLs with a clear reason, but it cannot close two gaps:
 *  - DNS rebinding: interception resolves the name, then Chromium resolves it again and may get another answer.
 *    Here the checked address is the one dialed.
 *  - traffic the DevTools Fetch domain never sees: WebSocket handshakes, service-worker fetches, preconnects.
 *    They all go through the proxy (WebRTC UDP is forced off by a launch flag).
 * Plain http arrives as absolute-URI requests and is forwarded; https and ws(s) arrive as CONNECT and are tunnelled.
 * A refused request gets its socket closed (Chromium reports a network error), never a forged HTTP response.
 */

const IDLE_MS = 5 * 60_000;
const HOP_BY_HOP = new Set(['proxy-connection', 'proxy-authorization', 'connection', 'keep-alive', 'te', 'trailer', 'upgrade']);

/** Every address was checked; dial IPv4 first, since many hosts (this one included) have no IPv6 route. */
const preferred = (addresses: ReadonlyArray<{ address: string; family: 4 | 6 }>): string => (addresses.find((a) => a.family === 4) ?? addresses[0]!).address;

export interface ProxyBlock {
  url: string;
  reason: string;
  message: string;
}

export class EgressProxy {
  private server: http.Server | null = null;
  private readonly sockets = new Set<Duplex>();
  readonly blocks: ProxyBlock[] = [];

  constructor(
    private readonly guard: SsrfGuard,
    private readonly onBlock: (b: ProxyBlock) => void = () => {},
  ) {}

  private blocked(url: string, err: unknown): void {
    const b = err instanceof SsrfBlockedError ? { url, reason: err.reason, message: err.message } : { url, reason: 'error', message: String(err) };
    this.blocks.push(b);
    if (this.blocks.length > 100) this.blocks.shift();
    this.onBlock(b);
  }

  private track(s: Duplex): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    if (s instanceof net.Socket) s.setTimeout(IDLE_MS, () => s.destroy());
  }

  async start(): Promise<string> {
    const server = http.createServer((req, res) => void this.forward(req, res));
    server.on('connect', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void this.tunnel(req, socket, head));
    server.on('connection', (s: net.Socket) => this.track(s));
    server.on('clientError', (_e, s) => s.destroy());
    this.server = server;
    return listenLocal(server);
  }

  private async forward(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const target = req.url ?? '';
    let checked;
    try {
      if (!/^http:\/\//i.test(target)) throw new SsrfBlockedError('scheme', target, `proxy: not an absolute http URL: ${target.slice(0, 100)}`);
      checked = await this.guard.resolveChecked(target);
    } catch (err) {
      this.blocked(target, err);
      req.socket.destroy();
      return;
    }
    const headers: http.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k)) headers[k] = v;
    const upstream = http.request({
      host: preferred(checked.addresses),
      port: Number(checked.url.port || 80),
      method: req.method,
      path: `${checked.url.pathname}${checked.url.search}`,
      headers,
      setHost: false,
      agent: false,
    });
    upstream.on('response', (up) => {
      const out: http.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(up.headers)) if (!HOP_BY_HOP.has(k)) out[k] = v;
      res.writeHead(up.statusCode ?? 502, up.statusMessage, out);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  }

  private async tunnel(req: http.IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    this.track(client);
    const target = req.url ?? '';
    let address: string;
    let port: number;
    try {
      const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(target);
      if (!m) throw new SsrfBlockedError('invalid_url', target, `proxy: bad CONNECT target ${target.slice(0, 100)}`);
      port = Number(m[2]);
      const checked = await this.guard.resolveChecked(`https://${m[1]}:${port}/`);
      address = preferred(checked.addresses);
    } catch (err) {
      this.blocked(target, err);
      client.destroy();
      return;
    }
    const upstream = net.connect({ host: address, port });
    this.track(upstream);
    upstream.once('connect', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}

/**
 * Where Chromium's own background traffic goes: a proxy that refuses everything. The browser is launched with it
 * (`--proxy-server`), and each session's incognito context is created with the egress proxy instead (spares.ts), so
 * pages reach the web through the guard while the browser itself reaches nothing. Chromium 156 dials out on its own
 * even with --disable-background-networking and --disable-component-update: the on-demand update check of the
 * on-device model manifest component (update.googleapis.com) and GAIA's ListAccounts (accounts.google.com), seen
 * through a logging proxy on 2026-11-23. Through the egress proxy they would leave any host with internet access;
 * here they fail, quietly (several a minute, so they are counted, not logged as warnings).
 */
export class RefusingProxy {
  private server: http.Server | null = null;
  refused = 0;

  constructor(private readonly onRefuse: (target: string) => void = () => {}) {}

  async start(): Promise<string> {
    const refuse = (target: string) => {
      this.refused++;
      this.onRefuse(target.slice(0, 200));
    };
    // As the egress proxy does with what it refuses: the socket is closed, no HTTP response is forged.
    const server = http.createServer((req) => {
      refuse(req.url ?? '');
      req.socket.destroy();
    });
    server.on('connect', (req: http.IncomingMessage, socket: Duplex) => {
      refuse(req.url ?? '');
      socket.destroy();
    });
    server.on('clientError', (_e, s) => s.destroy());
    this.server = server;
    return listenLocal(server);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

/** Listens on a free loopback port; resolves to the proxy URL to hand to Chromium. */
async function listenLocal(server: http.Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}
