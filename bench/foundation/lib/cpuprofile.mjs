// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by package, the two views that
// answer "where does a request's CPU go" without opening a profiler UI.
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';

/** Which bucket a frame's script belongs to: a dependency by package name, or our own top-level folder. */
function owner(url, root) {
  if (!url) return '(native/V8)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  if (url.startsWith('node:')) return 'node core';
  const local = url.replace(/^file:\/\//, '');
  if (root && local.startsWith(root)) return local.slice(root.length + 1).split('/')[0] + '/';
  return 'other';
}

/** file:line of a frame in its original source when a source map is known (tsx output is one minified line). */
function locator(mapsFile) {
  const payloads = mapsFile && existsSync(mapsFile) ? JSON.parse(readFileSync(mapsFile, 'utf8')) : {};
  const maps = new Map();
  return (cf) => {
    if (!payloads[cf.url]) return { url: cf.url, line: cf.lineNumber + 1 };
    if (!maps.has(cf.url)) maps.set(cf.url, new SourceMap(payloads[cf.url]));
    const e = maps.get(cf.url).findEntry(cf.lineNumber, cf.columnNumber);
    return e && e.originalSource ? { url: e.originalSource, line: e.originalLine + 1 } : { url: cf.url, line: cf.lineNumber + 1 };
  };
}

export function summarizeProfile(file, { root = '', top = 25, sourceMaps = null } = {}) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const locate = locator(sourceMaps);
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
  }
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const fns = new Map();
  const pkgs = new Map();
  for (const [id, us] of selfUs) {
    const cf = byId.get(id).callFrame;
    const name = cf.functionName || '(anonymous)';
    const loc = locate(cf);
    // Dependencies by their path inside node_modules (wherever that folder is linked from), ours relative to the root.
    const file = loc.url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '').replace(root + '/', '');
    const where = cf.url ? `${file}:${loc.line}` : '';
    const key = `${name} ${where}`.trim();
    fns.set(key, (fns.get(key) ?? 0) + us);
    const o = ['(idle)', '(program)', '(garbage collector)'].includes(name) ? name : owner(cf.url, root);
    pkgs.set(o, (pkgs.get(o) ?? 0) + us);
  }
  const idleUs = pkgs.get('(idle)') ?? 0;
  const busyUs = totalUs - idleUs;
  const rank = (m) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => ({ name: k, ms: us / 1000, pctOfBusy: k === '(idle)' ? null : (us / busyUs) * 100 }));
  return { totalMs: totalUs / 1000, busyMs: busyUs / 1000, functions: rank(fns), packages: rank(pkgs) };
}

export function profileMarkdown(s, requests) {
  const perReq = requests ? ` (${((s.busyMs * 1000) / requests).toFixed(1)} us of sampled busy time per request over ${requests} requests)` : '';
  const lines = [`Busy ${s.busyMs.toFixed(0)} ms of ${s.totalMs.toFixed(0)} ms sampled${perReq}.`, '', '| self time by package / folder | ms | % of busy |', '| --- | ---: | ---: |'];
  for (const p of s.packages) if (p.pctOfBusy !== null) lines.push(`| ${p.name} | ${p.ms.toFixed(0)} | ${p.pctOfBusy.toFixed(1)} |`);
  lines.push('', '| top functions by self time | ms | % of busy |', '| --- | ---: | ---: |');
  for (const f of s.functions) if (f.pctOfBusy !== null) lines.push(`| \`${f.name.replace(/\|/g, '\\|')}\` | ${f.ms.toFixed(0)} | ${f.pctOfBusy.toFixed(1)} |`);
  return lines.join('\n');
}
