import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { HttpResponse, TemplatedApp } from 'uWebSockets.js';

/**
 * Works around uWebSockets#1929 (present in the uWS build we pin, see README): after an asynchronous
 * `res.cork(() => res.upgrade(...))`, cork()'s epilogue can read the HTTP response state from memory that the
 * upgrade's shrinking realloc handed to the WebSocket (or back to malloc) and close the new socket. Seen here as
 * close code 1006 before the first frame on about 1 upgrade in 400-1,000 when idle and several in a hundred under
 * the test suite's load. Upgrading without any cork avoids it, but then uWS prints a warning on stderr for every
 * upgrade.
 *
 * The way out: run the upgrade inside the cork of a *different* response. uWS then corks that response, the
 * upgrade's 101 is written directly, the new WebSocket does not take over the cork, and the epilogue reads the
 * state of the response it corked, which is still an HTTP response. That response is an anchor this process keeps
 * open to itself: one loopback connection sends one request to a secret path and never gets an answer (uWS sets no
 * timeout on a request whose handler returned without responding). If the anchor is gone (before `connect`, or
 * after its connection dropped and until it is re-established), upgrades fall back to the plain corked form.
 */
export class CorkAnchor {
  private res: HttpResponse | null = null;
  private socket: net.Socket | null = null;
  private closed = false;
  private waiters: Array<() => void> = [];
  readonly path = `/__takos/cork-anchor/${randomBytes(16).toString('hex')}`;

  /** Registers the anchor's route (before the catch-all route). */
  attach(app: TemplatedApp): void {
    app.get(this.path, (res) => {
      res.onAborted(() => {
        if (this.res === res) this.res = null;
      });
      this.res = res;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Opens the anchor connection to this server; resolves once the anchor is held (or after `timeoutMs`). */
  connect(host: string, port: number, timeoutMs = 2_000): Promise<void> {
    if (this.closed) return Promise.resolve();
    const target = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
    const socket = net.connect({ host: target, port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('connect', () => socket.write(`GET ${this.path} HTTP/1.1\r\nHost: anchor\r\n\r\n`));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.socket !== socket || this.closed) return;
      this.socket = null;
      // Lost (the server restarted its connections, or an idle reaper): take a new one shortly.
      setTimeout(() => void this.connect(host, port), 1_000).unref();
    });
    socket.unref();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Runs `fn` (which upgrades `res`) corked, on the anchor when it is held. */
  corkUpgrade(res: HttpResponse, fn: () => void): void {
    const anchor = this.res;
    if (anchor && anchor !== res) anchor.cork(fn);
    else res.cork(fn);
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
    this.socket = null;
    this.res = null;
  }
}
