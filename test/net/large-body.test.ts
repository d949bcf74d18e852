import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import uWS from 'uWebSockets.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endInPieces } from '../../http/large-body.ts';

// endInPieces on a real uWS app: a body far larger than what the kernel buffers on loopback (tcp_wmem + tcp_rmem
// reach ~36 MB here) to a reader that stops reading for a while, so most of it goes out through onWritable.
const BODY = randomBytes(96 * 1024 * 1024);
const DIGEST = createHash('sha256').update(BODY).digest('hex');
let listen: uWS.us_listen_socket | null = null;
let port = 0;
let writableCalls = 0;
let abortedSeen = 0;

beforeAll(async () => {
  const app = uWS.App().get('/big', (res) => {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
      abortedSeen++;
    });
    // Answered on a later tick, as the API's handlers do.
    setImmediate(() => {
      if (aborted) return;
      res.cork(() => {
        res.writeStatus('200 OK');
        const onWritable = res.onWritable.bind(res);
        // Counts the drain callbacks the function registers, without changing what they do.
        res.onWritable = (h) => onWritable((offset) => {
          writableCalls++;
          return h(offset);
        });
        endInPieces(res, BODY, () => aborted);
      });
    });
  });
  await new Promise<void>((resolve) => app.listen('127.0.0.1', 0, (t) => {
    listen = t;
    port = uWS.us_socket_local_port(t);
    resolve();
  }));
});
afterAll(() => {
  if (listen) uWS.us_listen_socket_close(listen);
});

function fetchRaw(opts: { pauseMs: number; abortAfter?: number }): Promise<{ head: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let headBytes = -1;
    const sock = net.connect(port, '127.0.0.1', () => {
      sock.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
      sock.pause();
      setTimeout(() => sock.resume(), opts.pauseMs);
    });
    const finish = () => {
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      resolve({ head: all.toString('latin1', 0, end), body: all.subarray(end + 4) });
    };
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      if (opts.abortAfter !== undefined && size >= opts.abortAfter) {
        sock.destroy();
        finish();
        return;
      }
      // The head is in the first chunk (it is a few dozen bytes); counting bytes keeps this loop linear.
      if (headBytes < 0) {
        const end = chunks[0]!.indexOf('\r\n\r\n');
        if (end >= 0) headBytes = end + 4;
      }
      if (headBytes >= 0 && size - headBytes >= BODY.length) {
        sock.end();
        finish();
      }
    });
    sock.on('error', reject);
  });
}

describe('endInPieces', () => {
  it('delivers a body larger than the socket buffers, byte for byte, to a reader that pauses', async () => {
    const before = writableCalls;
    const { head, body } = await fetchRaw({ pauseMs: 300 });
    expect(head).toMatch(new RegExp(`content-length: ${BODY.length}`, 'i'));
    expect(body.length).toBe(BODY.length);
    expect(createHash('sha256').update(body).digest('hex')).toBe(DIGEST);
    // The part the socket did not take at once went out from onWritable.
    expect(writableCalls).toBeGreaterThan(before);
  }, 30_000);

  it('stops when the reader goes away, and serves the next one', async () => {
    const aborted = abortedSeen;
    const partial = await fetchRaw({ pauseMs: 100, abortAfter: 1024 * 1024 });
    expect(partial.body.length).toBeGreaterThan(0);
    for (let i = 0; i < 50 && abortedSeen === aborted; i++) await new Promise((r) => setTimeout(r, 20));
    expect(abortedSeen).toBe(aborted + 1);
    const { body } = await fetchRaw({ pauseMs: 0 });
    expect(createHash('sha256').update(body).digest('hex')).toBe(DIGEST);
  }, 30_000);
});
