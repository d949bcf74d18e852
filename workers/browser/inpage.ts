import type { ElementHandle, Frame, JSHandle, Page } from 'puppeteer-core';

/**
 * Code that runs inside the page, kept as plain JavaScript source. Functions passed to page.evaluate are sent as
 * their toString(), and a TypeScript transform (tsx/esbuild with keepNames) may wrap them in helpers such as
 * `__name(...)` that do not exist in the page; source strings are sent exactly as written. They also keep DOM types
 * out of this Node-only project.
 */

/** Call `src` (a function expression) in the page with JSON arguments. */
export function callInPage<T>(target: Page | Frame, src: string, ...args: unknown[]): Promise<T> {
  return target.evaluate(`(${src})(${args.map((a) => JSON.stringify(a ?? null)).join(',')})`) as Promise<T>;
}

/** Call `src` with an element (or any handle) as its first argument. */
export async function callOnHandle<T>(page: Page, handle: ElementHandle | JSHandle, src: string, ...args: unknown[]): Promise<T> {
  // The function is first created in the page from source (no eval inside the page, so a strict CSP does not
  // matter), then called with the handle; the inline arrow below is anonymous, so no transform renames it.
  const fn = await page.evaluateHandle(`(${src})`);
  try {
    return (await fn.evaluate((f, el, a) => (f as unknown as (...x: unknown[]) => unknown)(el, ...(a as unknown[])), handle, args)) as T;
  } finally {
    await fn.dispose().catch(() => {});
  }
}

/** `[{tag, text, attributes}]` for every match, stopping at `maxElements` or when the JSON would pass `maxChars`. */
export const EXTRACT_ELEMENTS = `(selector, maxElements, maxChars) => {
  const out = [];
  let size = 2, truncated = false;
  for (const el of document.querySelectorAll(selector)) {
    if (out.length >= maxElements) { truncated = true; break; }
    const attributes = {};
    for (const a of el.attributes) attributes[a.name] = a.value;
    const item = { tag: el.tagName.toLowerCase(), text: (el.textContent || '').trim(), attributes };
    const len = JSON.stringify(item).length + 1;
    if (size + len > maxChars) {
      truncated = true;
      const room = maxChars - size - 200;
      if (room > 0 && item.text.length > room) { item.text = item.text.slice(0, room); out.push(item); }
      break;
    }
    size += len;
    out.push(item);
  }
  return { data: out, truncated };
}`;

/**
 * JSON of a value produced by the caller's expression, cut at `maxChars` in the page (a 1 GB string never crosses
 * the DevTools pipe). DOM nodes become a short description, cycles and functions become strings, undefined -> null.
 */
export const SERIALIZE_CAPPED = `(value, maxChars) => {
  const seen = new WeakSet();
  const replacer = (_k, v) => {
    if (typeof v === 'function') return '[function]';
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'symbol') return v.toString();
    if (v && typeof v === 'object') {
      if (typeof Node !== 'undefined' && v instanceof Node) {
        return v.nodeType === 1 ? { tag: v.tagName.toLowerCase(), text: (v.textContent || '').trim().slice(0, 1000) } : String(v.nodeName);
      }
      if (seen.has(v)) return '[circular]';
      seen.add(v);
    }
    return v;
  };
  let json;
  try { json = JSON.stringify(value === undefined ? null : value, replacer); } catch (e) { json = JSON.stringify(String(value)); }
  if (json === undefined) json = 'null';
  return json.length > maxChars ? { json: json.slice(0, maxChars), truncated: true } : { json, truncated: false };
}`;

export const OUTER_HTML_CAPPED = `(maxChars) => {
  const dt = document.doctype;
  const doctype = dt ? '<!DOCTYPE ' + dt.name + (dt.publicId ? ' PUBLIC "' + dt.publicId + '"' : '') + (dt.systemId ? ' "' + dt.systemId + '"' : '') + '>' : '';
  const html = doctype + (document.documentElement ? document.documentElement.outerHTML : '');
  return { html: html.length > maxChars ? html.slice(0, maxChars) : html, truncated: html.length > maxChars, url: location.href };
}`;

export const PAGE_SIZE = `() => {
  const d = document.documentElement, b = document.body;
  return {
    width: Math.max(d ? d.scrollWidth : 0, b ? b.scrollWidth : 0, innerWidth),
    height: Math.max(d ? d.scrollHeight : 0, b ? b.scrollHeight : 0, innerHeight),
  };
}`;

export const SCROLL_BY = `(dx, dy) => { window.scrollBy(dx, dy); return { x: window.scrollX, y: window.scrollY }; }`;

export const CHECKABLE_STATE = `(el) => {
  const kind = el instanceof HTMLInputElement ? el.type : el.getAttribute('role');
  return { kind, checked: el instanceof HTMLInputElement ? el.checked : el.getAttribute('aria-checked') === 'true' };
}`;
