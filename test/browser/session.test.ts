import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../runtime/errors.ts';
import { ACTION_TYPES } from '../../workers/browser/actions.ts';
import { pngSize } from '../../workers/browser/capture.ts';
import type { BrowserPool } from '../../workers/browser/pool.ts';
import type { BrowserSession } from '../../workers/browser/session.ts';
import { startPool, startSite, type Site } from './site.ts';

// Session operations against real Chromium on pages served by this file (loopback switch ON).

let site: Site;
let pool: BrowserPool;

beforeAll(async () => {
  site = await startSite();
  pool = await startPool();
});
afterAll(async () => {
  await pool?.close();
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

const pageLog = async (s: BrowserSession) => (await s.extract({ evaluate: 'window.log' })).data as string[];

describe('create and goto', () => {
  it('creates a session at a URL with the default viewport, and goes elsewhere with every waitUntil', async () => {
    const s = await pool.create({ url: site.url });
    try {
      expect(s.id).toMatch(/^[0-9a-f]{32}$/);
      expect(s.viewport).toEqual({ width: 1280, height: 720 });
      expect(s.url).toBe(site.url);
      expect(await s.goto({ url: `${site.origin}/form` })).toEqual({ url: `${site.origin}/form`, title: 'Form', status: 200 });
      for (const waitUntil of ['domcontentloaded', 'networkidle', 'load'] as const) {
        expect(await s.goto({ url: site.url, waitUntil })).toMatchObject({ title: 'Home', status: 200 });
      }
      expect(await s.goto({ url: `${site.origin}/missing` })).toMatchObject({ status: 404, title: 'Nope' });
    } finally {
      await s.close();
    }
  });

  it('`commit` returns when the response arrives, before the slow body ends', async () => {
    const s = await pool.create({ viewport: { width: 800, height: 600 } });
    try {
      const r = await s.goto({ url: `${site.origin}/slow?ms=4000`, waitUntil: 'commit', timeout: 3000 });
      expect(r).toMatchObject({ url: `${site.origin}/slow?ms=4000`, status: 200 });
    } finally {
      await s.close();
    }
  });

  it('a navigation that does not finish in time is a 504; a refused connection a 502; a bad waitUntil a 422', async () => {
    const s = await pool.create({});
    try {
      const t = await fails(s.goto({ url: `${site.origin}/hang`, timeout: 500 }));
      expect(t.status).toBe(504);
      expect(t.details).toMatchObject({ reason: 'timeout' });
      const r = await fails(s.goto({ url: 'http://127.0.0.1:1/' }));
      expect(r.status).toBe(502);
      expect(r.message).toMatch(/net::ERR_/);
      const v = await fails(s.goto({ url: site.url, waitUntil: 'networkidle2' }));
      expect(v.status).toBe(422);
      // The session is still usable after each failure.
      expect(await s.goto({ url: site.url })).toMatchObject({ title: 'Home' });
    } finally {
      await s.close();
    }
  });

  it('uses the session id it is given, and refuses one already in use with 409', async () => {
    const id = 'ab'.repeat(16);
    const s = await pool.create({}, { id });
    try {
      expect(s.id).toBe(id);
      expect(pool.get(id)).toBe(s);
      expect((await fails(pool.create({}, { id }))).status).toBe(409);
    } finally {
      await s.close();
    }
  });

  it('refuses bad create input with 422 and takes no slot', async () => {
    const before = pool.capacity().used;
    expect((await fails(pool.create({ viewport: { width: 10, height: 10 } }))).status).toBe(422);
    expect((await fails(pool.create({ url: 'ftp://example.com/' }))).status).toBe(422);
    expect(pool.capacity().used).toBe(before);
  });
});

describe('actions (spec 6.3 and wait)', () => {
  let s: BrowserSession;
  beforeAll(async () => {
    s = await pool.create({ url: `${site.origin}/form` });
  });
  afterAll(async () => {
    await s.close();
  });
  const act = (a: Record<string, unknown>) => s.action(a);
  const val = async (expr: string) => (await s.extract({ evaluate: expr })).data;

  it('lists every action type of spec 6.3, plus wait', () => {
    expect([...ACTION_TYPES].sort()).toEqual(['check', 'clear', 'click', 'focus', 'hover', 'press', 'scroll', 'select', 'type', 'uncheck', 'wait']);
  });

  it('click: left, right, middle and double', async () => {
    expect(await act({ type: 'click', selector: '#btn' })).toEqual({ ok: true, message: 'Clicked #btn' });
    await act({ type: 'click', selector: '#btn', button: 'right' });
    await act({ type: 'click', selector: '#btn', button: 'middle' });
    await act({ type: 'click', selector: '#btn', clickCount: 2 });
    const log = await pageLog(s);
    expect(log).toContain('click:0:1');
    expect(log).toContain('contextmenu:2');
    expect(log).toContain('auxclick:1');
    expect(log).toContain('click:0:2');
  });

  it('type fills (replacing the old value); with delay it types key by key; clear empties', async () => {
    expect(await act({ type: 'type', selector: '#name', text: 'Ada' })).toEqual({ ok: true, message: 'Typed into #name' });
    expect(await val(`document.getElementById('name').value`)).toBe('Ada');
    await act({ type: 'type', selector: '#bio', text: 'abc', delay: 5 });
    expect(await val(`document.getElementById('bio').value`)).toBe('abc');
    // fill() sends only the last character as a key event; typing with a delay sends each one.
    expect((await pageLog(s)).slice(-3)).toEqual(['key:a', 'key:b', 'key:c']);
    expect(await act({ type: 'clear', selector: '#name' })).toEqual({ ok: true, message: 'Cleared #name' });
    expect(await val(`document.getElementById('name').value`)).toBe('');
  });

  it('press with modifiers', async () => {
    await act({ type: 'focus', selector: '#name' });
    expect(await act({ type: 'press', key: 'a', modifiers: ['Control', 'Shift'] })).toEqual({ ok: true, message: 'Pressed Control+Shift+a' });
    await act({ type: 'press', key: 'Enter' });
    const log = await pageLog(s);
    expect(log).toContain('key:Control+Shift+a');
    expect(log).toContain('key:Enter');
    expect((await fails(act({ type: 'press', key: 'NoSuchKey' }))).status).toBe(422);
  });

  it('select one value, several values, and a missing value (422)', async () => {
    expect(await act({ type: 'select', selector: '#color', value: 'blue' })).toEqual({ ok: true, message: 'Selected "blue" in #color' });
    expect(await val(`document.getElementById('color').value`)).toBe('blue');
    await act({ type: 'select', selector: '#multi', value: ['a', 'c'] });
    expect(await val(`[...document.getElementById('multi').selectedOptions].map(o => o.value)`)).toEqual(['a', 'c']);
    const e = await fails(act({ type: 'select', selector: '#color', value: 'purple' }));
    expect(e.status).toBe(422);
    expect((await fails(act({ type: 'select', selector: '#name', value: 'x' }))).status).toBe(422);
  });

  it('hover, focus', async () => {
    expect(await act({ type: 'hover', selector: '#hover' })).toEqual({ ok: true, message: 'Hovered #hover' });
    expect(await pageLog(s)).toContain('hover');
    expect(await act({ type: 'focus', selector: '#name' })).toEqual({ ok: true, message: 'Focused #name' });
    expect(await val(`document.activeElement.id`)).toBe('name');
  });

  it('check / uncheck checkboxes and radios, and refuse what cannot be (un)checked', async () => {
    expect(await act({ type: 'check', selector: '#agree' })).toEqual({ ok: true, message: 'Checked #agree' });
    expect(await val(`document.getElementById('agree').checked`)).toBe(true);
    await act({ type: 'check', selector: '#agree' }); // already checked: no change, no error
    expect(await val(`document.getElementById('agree').checked`)).toBe(true);
    expect(await act({ type: 'uncheck', selector: '#agree' })).toEqual({ ok: true, message: 'Unchecked #agree' });
    expect(await val(`document.getElementById('agree').checked`)).toBe(false);
    await act({ type: 'check', selector: '#r2' });
    expect(await val(`document.getElementById('r2').checked`)).toBe(true);
    expect((await fails(act({ type: 'uncheck', selector: '#r2' }))).details).toMatchObject([{ code: 'not_checkable' }]);
    expect((await fails(act({ type: 'check', selector: '#name' }))).details).toMatchObject([{ code: 'not_checkable' }]);
    expect((await fails(act({ type: 'check', selector: '#locked' }))).details).toMatchObject([{ code: 'state_unchanged' }]);
  });

  it('scroll the window in each direction, and an element into view', async () => {
    expect(await act({ type: 'scroll', direction: 'down' })).toEqual({ ok: true, message: 'Scrolled down by 500px' });
    expect(await val('scrollY')).toBe(500);
    await act({ type: 'scroll', direction: 'up', amount: 200 });
    expect(await val('scrollY')).toBe(300);
    await act({ type: 'scroll', direction: 'right', amount: 100 });
    expect(await val('scrollX')).toBe(100);
    await act({ type: 'scroll', direction: 'left', amount: 100 });
    expect(await val('scrollX')).toBe(0);
    expect(await act({ type: 'scroll', direction: 'down', selector: '#far' })).toEqual({ ok: true, message: 'Scrolled #far into view' });
    expect(await val(`(() => { const r = document.getElementById('far').getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; })()`)).toBe(true);
  });

  it('wait for a late element, for hidden, and for milliseconds; an element that never comes is a 422', async () => {
    await s.goto({ url: `${site.origin}/form` });
    expect(await act({ type: 'wait', selector: '#late' })).toEqual({ ok: true, message: 'Element #late is visible' });
    expect(await act({ type: 'wait', selector: '#hidden', state: 'hidden' })).toEqual({ ok: true, message: 'Element #hidden is hidden' });
    expect(await act({ type: 'wait', ms: 10 })).toEqual({ ok: true, message: 'Waited 10ms' });
    const e = await fails(act({ type: 'click', selector: '#nope', timeout: 300 }));
    expect(e.status).toBe(422);
    expect(e.details).toMatchObject([{ path: 'selector', code: 'element_not_found' }]);
    expect((await fails(act({ type: 'click', selector: '#hidden', timeout: 300 }))).status).toBe(422);
  });

  it('unknown or missing type, and bad fields, are 422 validation errors (never a crash)', async () => {
    for (const bad of [{ type: 'explode', selector: '#x' }, { selector: '#x' }, { type: 'click' }, { type: 'scroll', direction: 'sideways' }, { type: 'wait' }, 'click', null]) {
      const e = await fails(s.action(bad));
      expect(e.status).toBe(422);
      expect(e.code).toBe('VALIDATION_ERROR');
    }
    const sel = await fails(act({ type: 'click', selector: '##' }));
    expect(sel.details).toMatchObject([{ code: 'invalid_selector' }]);
    // The session survived all of it.
    expect(await act({ type: 'click', selector: '#btn' })).toMatchObject({ ok: true });
  });
});

describe('extract, html, screenshot, pdf', () => {
  let s: BrowserSession;
  beforeAll(async () => {
    s = await pool.create({ url: `${site.origin}/form` });
  });
  afterAll(async () => {
    await s.close();
  });

  it('extract by selector: tag, trimmed text, attributes', async () => {
    expect(await s.extract({ selector: '#link' })).toEqual({ data: [{ tag: 'a', text: 'Home link', attributes: { id: 'link', href: '/', 'data-x': '1' } }], truncated: false });
    expect((await s.extract({ selector: '.item' })).data).toHaveLength(2);
    expect(await s.extract({ selector: '.none' })).toEqual({ data: [], truncated: false });
    expect((await fails(s.extract({ selector: '##' }))).status).toBe(422);
  });

  it('extract by evaluate: values, promises, functions, DOM nodes; evaluate wins over selector', async () => {
    expect((await s.extract({ evaluate: '1 + 2' })).data).toBe(3);
    expect((await s.extract({ evaluate: 'Promise.resolve({a: [1, "x"]})' })).data).toEqual({ a: [1, 'x'] });
    expect((await s.extract({ evaluate: '() => document.title' })).data).toBe('Form');
    expect((await s.extract({ evaluate: `document.getElementById('h')` })).data).toEqual({ tag: 'h1', text: 'Form page' });
    expect((await s.extract({ evaluate: 'undefined' })).data).toBeNull();
    expect((await s.extract({ evaluate: 'document.title', selector: '#link' })).data).toBe('Form');
    const thrown = await fails(s.extract({ evaluate: 'nope.nope' }));
    expect(thrown.status).toBe(422);
    expect(thrown.message).toMatch(/nope is not defined/);
    expect((await fails(s.extract({}))).status).toBe(422);
  });

  it('extract output is capped at 50,000 characters, in the page', async () => {
    const r = await s.extract({ evaluate: `'x'.repeat(5e6)` });
    expect(r.truncated).toBe(true);
    expect((r.data as string).length).toBe(50_000);
    await s.goto({ url: `${site.origin}/big` });
    const els = await s.extract({ selector: 'p.x' });
    expect(els.truncated).toBe(true);
    expect(JSON.stringify(els.data).length).toBeLessThanOrEqual(50_000);
  });

  it('an endless loop in evaluate is stopped: 504, and the session still works', async () => {
    const e = await fails(s.extract({ evaluate: 'while (true) {}', timeout: 500 }));
    expect(e.status).toBe(504);
    expect((await s.extract({ evaluate: '40 + 2' })).data).toBe(42);
  });

  it('html with its URL, capped at 100,000 characters', async () => {
    await s.goto({ url: site.url });
    const h = await s.html();
    expect(h.url).toBe(site.url);
    expect(h.truncated).toBe(false);
    expect(h.html).toMatch(/^<!DOCTYPE html><html><head><title>Home<\/title>/);
    await s.goto({ url: `${site.origin}/big` });
    const big = await s.html();
    expect(big.truncated).toBe(true);
    expect(big.html.length).toBe(100_000);
  });

  it('screenshot: viewport PNG, full page, clip; bad options are 422', async () => {
    await s.goto({ url: `${site.origin}/tall` });
    const shot = await s.screenshot();
    expect(shot.png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(pngSize(shot.png)).toEqual({ width: 1280, height: 720 });
    const full = await s.screenshot({ fullPage: true });
    expect(pngSize(full.png)).toEqual({ width: 1280, height: 3000 });
    expect(full.truncated).toBe(false);
    const clip = await s.screenshot({ clip: { x: 10, y: 20, width: 100, height: 50 } });
    expect(pngSize(clip.png)).toEqual({ width: 100, height: 50 });
    expect((await fails(s.screenshot({ fullPage: true, clip: { x: 0, y: 0, width: 1, height: 1 } }))).status).toBe(422);
    expect((await fails(s.screenshot({ clip: { x: 0, y: 0, width: 0, height: 5 } }))).status).toBe(422);
  });

  it('pdf: an A4 document', async () => {
    await s.goto({ url: site.url });
    const pdf = await s.pdf();
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const box = (b: Buffer) => /\/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]/.exec(b.toString('latin1'))?.slice(1).map((n) => Math.round(Number(n)));
    expect(box(pdf)).toEqual([596, 842]); // A4 in points (Chromium rounds the width up by one)
    const letter = await s.pdf({ format: 'Letter', landscape: true });
    expect(box(letter)).toEqual([792, 612]);
    expect((await fails(s.pdf({ format: 'B7' }))).status).toBe(422);
  });
});

describe('pages that would otherwise stall or write to disk', () => {
  it('alert/confirm are dismissed instead of blocking the page; downloads are refused', async () => {
    const s = await pool.create({ url: `${site.origin}/dialogs` });
    try {
      expect((await s.extract({ evaluate: '({ done: window.done, answer: window.answer })' })).data).toEqual({ done: true, answer: false });
      await s.action({ type: 'click', selector: '#dl' });
      await new Promise((r) => setTimeout(r, 500));
      expect(site.hits.get('/download')).toBe(1);
      const found = spawnSync('find', [pool.markerRoot, '-name', 'payload*'], { encoding: 'utf8' }).stdout.trim();
      expect(found).toBe('');
      expect(await s.goto({ url: site.url })).toMatchObject({ title: 'Home' });
    } finally {
      await s.close();
    }
  });
});

describe('session end', () => {
  it('a closed session answers 410 to every call, and close is idempotent', async () => {
    const s = await pool.create({});
    await s.close();
    await s.close();
    expect(s.state).toBe('closed');
    expect(pool.get(s.id)).toBeUndefined();
    for (const call of [s.goto({ url: site.url }), s.action({ type: 'wait', ms: 1 }), s.extract({ evaluate: '1' }), s.html(), s.screenshot(), s.pdf()]) {
      const e = await fails(call);
      expect(e.status).toBe(410);
      expect(e.details).toMatchObject({ reason: 'closed' });
    }
  });

  it('calls on one session run one at a time, in order', async () => {
    const s = await pool.create({ url: `${site.origin}/form` });
    try {
      await Promise.all([s.action({ type: 'type', selector: '#name', text: 'first' }), s.action({ type: 'type', selector: '#name', text: 'second' })]);
      expect((await s.extract({ evaluate: `document.getElementById('name').value` })).data).toBe('second');
    } finally {
      await s.close();
    }
  });
});
