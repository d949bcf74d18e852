import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../runtime/errors.ts';
import type { Resolver } from '../../runtime/net/ssrf.ts';
import type { Page } from 'puppeteer-core';
import type { BrowserPool } from '../../workers/browser/pool.ts';
import { startPool, startSite, type Site } from './site.ts';

// SSRF rules enforced in a real browser. No test here sends a packet anywhere but 127.0.0.1: every private target
// is refused before a connection is made (by the request guard, and behind it the egress proxy).

let site: Site;
let closed: BrowserPool; // loopback switch OFF (the default)
let open: BrowserPool; // loopback switch ON, every other rule in force

// Names the test resolves itself: the browser cannot resolve `.test` names, so reaching one proves the request went
// through the egress proxy, which dials the address the guard checked.
const names: Record<string, string> = { 'app.test': '127.0.0.1', 'intranet.test': '10.255.255.7', 'meta.test': '169.254.169.254' };
const resolver: Resolver = async (h) => {
  const a = names[h];
  if (!a) throw new Error(`ENOTFOUND ${h}`);
  return [{ address: a, family: 4 }];
};

beforeAll(async () => {
  site = await startSite();
  [closed, open] = await Promise.all([startPool({ allowLoopback: false, resolver }), startPool({ resolver })]);
});
afterAll(async () => {
  await Promise.all([closed?.close(), open?.close()]);
  await site?.close();
});

async function fails(p: Promise<unknown>): Promise<AppError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AppError);
  return e as AppError;
}

describe('loopback switch OFF', () => {
  it('create with a loopback URL is a 422 and takes no slot', async () => {
    const e = await fails(closed.create({ url: site.url }));
    expect(e.status).toBe(422);
    expect(e.details).toMatchObject([{ path: 'url', code: 'blocked_loopback' }]);
    expect(closed.capacity().used).toBe(0);
  });

  it('goto refuses loopback, private, link-local, metadata, IPv6 and mapped targets, names that resolve to them, and bad schemes', async () => {
    const s = await closed.create({});
    try {
      const port = new URL(site.origin).port;
      const cases: Array<[string, string]> = [
        [site.url, 'blocked_loopback'],
        [`http://localhost:${port}/`, 'blocked_loopback'],
        [`http://[::1]:${port}/`, 'blocked_loopback'],
        [`http://[::ffff:127.0.0.1]:${port}/`, 'blocked_loopback'],
        [`http://app.test:${port}/`, 'blocked_loopback'],
        ['http://10.0.0.1/', 'blocked_private'],
        ['http://192.168.1.1/', 'blocked_private'],
        ['http://172.16.5.4/', 'blocked_private'],
        ['http://100.64.0.1/', 'blocked_cgnat'],
        ['http://169.254.169.254/latest/meta-data/', 'blocked_metadata'],
        ['http://[fe80::1]/', 'blocked_link_local'],
        ['http://[fd00::1]/', 'blocked_unique_local'],
        ['http://[::ffff:192.168.0.1]/', 'blocked_private'],
        ['http://intranet.test/', 'blocked_private'],
        ['http://meta.test/', 'blocked_metadata'],
        ['file:///etc/passwd', 'blocked_scheme'],
        ['chrome://version', 'blocked_scheme'],
        ['http://user:secret@example.com/', 'blocked_credentials'],
      ];
      for (const [url, code] of cases) {
        const e = await fails(s.goto({ url }));
        expect([url, e.status, (e.details as Array<{ code: string }>)[0]!.code]).toEqual([url, 422, code]);
      }
      expect(site.hits.get('/') ?? 0).toBe(0);
    } finally {
      await s.close();
    }
  });
});

describe('loopback switch ON: every other rule still applies, on every request', () => {
  it('a page on 127.0.0.1 loads, also by a name only the guard can resolve (so through the pinned-DNS proxy)', async () => {
    const s = await open.create({ url: site.url });
    try {
      expect(await s.goto({ url: `http://app.test:${new URL(site.origin).port}/` })).toMatchObject({ title: 'Home', status: 200 });
    } finally {
      await s.close();
    }
  });

  it('the browser’s own requests, outside every session’s context, meet a proxy that refuses them', async () => {
    const s = await open.create({ url: site.url });
    try {
      const before = open.backgroundRefused;
      // A page in the browser's default context stands for Chromium's own fetches (update checks, account checks):
      // like them it has no session context, so no egress proxy, only the browser-level one.
      const browser = (s as unknown as { d: { page: Page } }).d.page.browser();
      const stray = await browser.newPage();
      try {
        await expect(stray.goto(site.url, { timeout: 10_000 })).rejects.toThrow(/net::ERR_/);
      } finally {
        await stray.close();
      }
      expect(open.backgroundRefused).toBeGreaterThan(before);
      // The session's own page still reaches the site, through the egress proxy.
      expect(await s.goto({ url: `http://app.test:${new URL(site.origin).port}/` })).toMatchObject({ title: 'Home', status: 200 });
    } finally {
      await s.close();
    }
  });

  it('a redirect from an allowed page to a private, metadata, mapped-IPv6 or credentialed target fails with 502 naming the hop', async () => {
    const s = await open.create({});
    try {
      const targets: Array<[string, string]> = [
        ['http://10.255.255.1/', 'blocked_private'],
        ['http://169.254.169.254/latest/meta-data/', 'blocked_metadata'],
        ['http://[::ffff:10.0.0.1]/', 'blocked_private'],
        ['http://intranet.test/admin', 'blocked_private'],
        [`http://user:pw@127.0.0.1:${new URL(site.origin).port}/`, 'blocked_credentials'],
      ];
      for (const [to, reason] of targets) {
        const e = await fails(s.goto({ url: `${site.origin}/redirect?to=${encodeURIComponent(to)}` }));
        expect([to, e.status, e.code]).toEqual([to, 502, 'BAD_GATEWAY']);
        expect(e.details).toMatchObject({ reason, redirect: true });
        expect(e.message).toMatch(/^Navigation blocked: a redirect to /);
      }
      // An allowed redirect still works.
      expect(await s.goto({ url: `${site.origin}/redirect?to=/form` })).toMatchObject({ url: `${site.origin}/form`, title: 'Form' });
    } finally {
      await s.close();
    }
  });

  it('subresources and fetches aimed at private addresses are refused while the page loads', async () => {
    const s = await open.create({ url: `${site.origin}/subresources` });
    try {
      expect((await s.extract({ evaluate: 'window.fetchResult' })).data).toBe('failed');
      expect((await s.extract({ evaluate: `document.querySelector('img').complete && document.querySelector('img').naturalWidth` })).data).toBe(0);
    } finally {
      await s.close();
    }
  });

  it('a popup aimed at a private address is refused too', async () => {
    const s = await open.create({ url: `${site.origin}/popup` });
    try {
      // Refused either by the request guard attached to the popup or, if its first request beat that, by the proxy.
      const refused = () =>
        s.blockedRequests().some((b) => b.url === 'http://10.255.255.3/popup' && !b.primary && b.reason === 'private') ||
        open.proxyBlocks().some((b) => b.url === 'http://10.255.255.3/popup' && b.reason === 'private');
      const deadline = Date.now() + 5_000;
      while (!refused() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(refused()).toBe(true);
      expect(await s.goto({ url: site.url })).toMatchObject({ title: 'Home' });
    } finally {
      await s.close();
    }
  });

  it('a WebSocket (which request interception never sees) is refused by the egress proxy', async () => {
    const s = await open.create({ url: site.url });
    try {
      const r = await s.extract({
        evaluate: `new Promise((resolve) => { const ws = new WebSocket('ws://10.255.255.9:8080/'); ws.onopen = () => resolve('open'); ws.onerror = () => resolve('error'); })`,
        timeout: 10_000,
      });
      expect(r.data).toBe('error');
      expect(open.proxyBlocks().some((b) => b.url.startsWith('10.255.255.9:8080') && b.reason === 'private')).toBe(true);
    } finally {
      await s.close();
    }
  });
});
