import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer, TestUser } from '../harness.ts';
import { createProject, createTask, makeRepo, projectsRoot, startProjectServer } from '../tasks/fixtures.ts';

// Bodies above 64 KiB leave the server as the socket takes them (http/server.ts, endInPieces): a reader that is slow
// and one that goes away halfway must each get what end() would have given. (Pipelined requests are not served by
// uWS behind an asynchronous handler at all, whatever the body size: docs/differences.md, Conventions.)
let s: TestServer;
let alice: TestUser;
let path: string;
let expected: Buffer;
const TASKS = 30;

beforeAll(async () => {
  ({ s, alice } = await startProjectServer());
  const projectId = await createProject(s, alice, makeRepo(projectsRoot(s), 'large'), { name: 'large' });
  for (let i = 0; i < TASKS; i++) await createTask(s, alice, projectId, { title: `t${i}`, description: `${i}:`.padEnd(40_000, 'é') });
  path = `/api/projects/${projectId}/tasks?include_children=false`;
  const r = await fetch(`${s.url}${path}`, { headers: { authorization: `Bearer ${alice.token}` } });
  expected = Buffer.from(await r.arrayBuffer());
}, 60_000);
afterAll(() => s.close());

/** Raw HTTP/1.1 over TCP: what is written, and everything read until `until` says the answer is complete. */
function raw(request: string, opts: { pauseMs?: number; until: (got: Buffer) => boolean; abortAfter?: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const port = Number(new URL(s.url).port);
    const chunks: Buffer[] = [];
    let size = 0;
    const sock = net.connect(port, '127.0.0.1', () => {
      sock.write(request);
      if (opts.pauseMs) {
        // Not reading lets the kernel buffers fill, so the server meets backpressure mid-body.
        sock.pause();
        setTimeout(() => sock.resume(), opts.pauseMs);
      }
    });
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      if (opts.abortAfter !== undefined && size >= opts.abortAfter) {
        sock.destroy();
        resolve(Buffer.concat(chunks));
        return;
      }
      const got = Buffer.concat(chunks);
      if (opts.until(got)) {
        sock.end();
        resolve(got);
      }
    });
    sock.on('error', reject);
  });
}

/** The bodies of the complete Content-Length responses at the start of `buf`. */
function bodies(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const headEnd = buf.indexOf('\r\n\r\n', at);
    if (headEnd < 0) return out;
    const head = buf.toString('latin1', at, headEnd);
    const len = Number(/content-length: (\d+)/i.exec(head)?.[1]);
    if (!head.startsWith('HTTP/1.1 200') || !Number.isFinite(len) || buf.length < headEnd + 4 + len) return out;
    out.push(buf.subarray(headEnd + 4, headEnd + 4 + len));
    at = headEnd + 4 + len;
  }
}

const get = () => `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice.token}\r\n\r\n`;

describe('large response bodies', () => {
  it('are complete, also when the reader stops reading for a while', async () => {
    expect(expected.length).toBeGreaterThan(2_000_000);
    const list = JSON.parse(expected.toString()) as { tasks: Array<{ title: string; description: string }> };
    expect(list.tasks).toHaveLength(TASKS);
    expect(list.tasks[7]!.description).toBe('7:'.padEnd(40_000, 'é'));
    const got = await raw(get(), { pauseMs: 300, until: (b) => bodies(b).length === 1 });
    expect(bodies(got)[0]!.equals(expected)).toBe(true);
  });

  it('leave the server serving after a reader goes away halfway', async () => {
    const partial = await raw(get(), { pauseMs: 100, until: () => false, abortAfter: 200_000 });
    expect(partial.length).toBeGreaterThanOrEqual(200_000);
    const again = await fetch(`${s.url}${path}`, { headers: { authorization: `Bearer ${alice.token}` } });
    expect(Buffer.from(await again.arrayBuffer()).equals(expected)).toBe(true);
  });
});
