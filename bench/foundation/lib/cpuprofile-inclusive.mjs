#!/usr/bin/env node
// `node bench/foundation/lib/cpuprofile-inclusive.mjs <file.cpuprofile>`: inclusive time per function (self time plus
// everything it called), with our .ts frames mapped back through the `.maps.json` the profiler hook writes beside
// the profile. cpuprofile.mjs gives self time; this answers "how much of a request is under loadRows". Wall-clock
// sampled: a frame preempted inside a syscall (a pipe write that wakes a child on the same core) is charged too.
import { readFileSync, existsSync } from 'node:fs';
import { SourceMap } from 'node:module';
const [file] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/foundation/lib/cpuprofile-inclusive.mjs <file.cpuprofile> [top]');
  process.exit(2);
}
const prof = JSON.parse(readFileSync(file, 'utf8'));
const payloads = existsSync(file + '.maps.json') ? JSON.parse(readFileSync(file + '.maps.json', 'utf8')) : {};
const maps = new Map();
const loc = (cf) => { if (!payloads[cf.url]) return `${cf.url.split('/').slice(-1)}:${cf.lineNumber+1}`; if (!maps.has(cf.url)) maps.set(cf.url, new SourceMap(payloads[cf.url])); const e = maps.get(cf.url).findEntry(cf.lineNumber, cf.columnNumber); return e?.originalSource ? `${e.originalSource.split('/').slice(-1)}:${e.originalLine+1}` : cf.url; };
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map();
prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
const incl = new Map();
for (const [id, us] of self) {
  const seen = new Set();
  for (let p = id; p !== undefined; p = parent.get(p)) { const cf = byId.get(p).callFrame; const k = `${cf.functionName || '(anon)'}@${loc(cf)}`; if (seen.has(k)) continue; seen.add(k); incl.set(k, (incl.get(k) ?? 0) + us); }
}
for (const [k, us] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, Number(process.argv[3] ?? 45))) console.log(`${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`);
