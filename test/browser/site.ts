import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { BrowserPool, type BrowserPoolOptions } from '../../workers/browser/pool.ts';

/**
 * A small web site served by the test itself on 127.0.0.1, and a pool that may reach it (loopback switch ON).
 * Pages record what happened to them in `window.log` so a test can read it back with `extract({evaluate})`.
 */

const FORM = `<!doctype html><html><head><title>Form</title>
<style>body{margin:0;font:16px sans-serif} #far{margin-top:3000px} .wide{width:4000px;height:10px}</style></head><body>
<h1 id="h">Form page</h1>
<input id="name" value="old"><textarea id="bio"></textarea>
<select id="color"><option value="red">Red</option><option value="green">Green</option><option value="blue">Blue</option></select>
<select id="multi" multiple><option value="a">A</option><option value="b">B</option><option value="c">C</option></select>
<input type="checkbox" id="agree"><input type="radio" name="r" id="r1"><input type="radio" name="r" id="r2">
<input type="checkbox" id="locked" onclick="return false">
<button id="btn">Press</button><div id="hover" style="width:100px;height:40px">hover me</div>
<a id="link" href="/" data-x="1">Home link</a> <span class="item">one</span><span class="item">two</span>
<div id="hidden" style="display:none">secret</div><div class="wide"></div>
<p id="far">far away</p>
<script>
window.log = [];
const btn = document.getElementById('btn');
btn.addEventListener('click', (e) => log.push('click:' + e.button + ':' + e.detail));
btn.addEventListener('contextmenu', (e) => { e.preventDefault(); log.push('contextmenu:' + e.button); });
btn.addEventListener('auxclick', (e) => log.push('auxclick:' + e.button));
document.getElementById('hover').addEventListener('mouseenter', () => log.push('hover'));
document.addEventListener('keydown', (e) => log.push('key:' + [e.ctrlKey && 'Control', e.shiftKey && 'Shift', e.altKey && 'Alt', e.metaKey && 'Meta', e.key].filter(Boolean).join('+')));
document.getElementById('name').addEventListener('focus', () => log.push('focus:name'));
setTimeout(() => { const d = document.createElement('div'); d.id = 'late'; d.textContent = 'late'; document.body.appendChild(d); }, 300);
</script></body></html>`;

const TALL = `<!doctype html><html><head><title>Tall</title><style>body{margin:0} div{height:3000px;background:linear-gradient(red,blue)}</style></head><body><div></div></body></html>`;

export interface Site {
  url: string;
  origin: string;
  hits: Map<string, number>;
  close(): Promise<void>;
}

export async function startSite(): Promise<Site> {
  const hits = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    hits.set(u.pathname, (hits.get(u.pathname) ?? 0) + 1);
    const html = (body: string, status = 200) => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
      res.end(body);
    };
    switch (u.pathname) {
      case '/':
        return html('<!doctype html><html><head><title>Home</title></head><body><h1>Home</h1><p class="p">  Hello   </p></body></html>');
      case '/form':
        return html(FORM);
      case '/tall':
        return html(TALL);
      case '/redirect':
        res.writeHead(302, { location: u.searchParams.get('to') ?? '/' });
        return res.end();
      case '/missing':
        return html('<title>Nope</title>not here', 404);
      case '/slow':
        // Headers now, the rest after `ms`: `commit` returns at once, `load` waits.
        res.writeHead(200, { 'content-type': 'text/html' });
        res.write('<!doctype html><html><head><title>Slow</title></head><body>');
        setTimeout(() => res.end('done</body></html>'), Number(u.searchParams.get('ms') ?? 2000));
        return;
      case '/download':
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-disposition': 'attachment; filename="payload.bin"' });
        return res.end(Buffer.alloc(1024, 7));
      case '/dialogs':
        return html(`<!doctype html><html><head><title>Dialogs</title></head><body><script>
          alert('hi'); window.answer = confirm('sure?'); window.done = true;
        </script><a id="dl" href="/download">download</a></body></html>`);
      case '/popup':
        return html(`<!doctype html><html><head><title>Popup</title></head><body><script>
          window.popup = window.open('http://10.255.255.3/popup');
        </script></body></html>`);
      case '/hang':
        return; // never answers
      case '/big':
        return html(`<!doctype html><html><head><title>Big</title></head><body>${'<p class="x">' + 'y'.repeat(100) + '</p>'.repeat(1)}${'<p class="x">' + 'z'.repeat(200) + '</p>'}${Array.from({ length: 2000 }, (_, i) => `<p class="x">para ${i} ${'w'.repeat(80)}</p>`).join('')}</body></html>`);
      case '/subresources':
        // An image and a fetch aimed at a private address: blocked, while the page itself loads.
        return html(`<!doctype html><html><head><title>Subs</title></head><body><img src="http://10.255.0.1/x.png"><script>
          window.fetchResult = fetch('http://192.168.255.1/data').then(() => 'loaded', (e) => 'failed');
        </script></body></html>`);
      default:
        return html('<title>404</title>', 404);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: origin + '/',
    origin,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const roots: string[] = [];
// Registered when a test file imports this module, so it runs after the file's own afterAll hooks closed the pools.
afterAll(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

/** Each pool gets its own data root, so pools of parallel files never see each other's browsers; removed at exit. */
export function testDataRoot(): string {
  const r = mkdtempSync(path.join(os.tmpdir(), 'takos-browser-test-'));
  roots.push(r);
  return r;
}

/**
 * A pool for tests: loopback allowed (explicitly), no idle sweep, and a fixed load reading, because other test
 * files share this 2-core machine and a real CPU reading above 90% would make admission tests flaky. The real
 * sampler and the threshold are tested on their own (pool.test.ts).
 */
export async function startPool(opts: BrowserPoolOptions = {}): Promise<BrowserPool> {
  const pool = new BrowserPool({ maxSessions: 4, allowLoopback: true, idleTimeoutMs: 0, dataRoot: testDataRoot(), loadProbe: () => ({ cpu: 0, memory: 0 }), ...opts });
  await pool.start();
  return pool;
}
