#!/usr/bin/env node
// Re-renders a foundation result from its JSON (after a change to the report format, or to refresh bench/README.md):
//   node bench/foundation/render.mjs bench/results/foundation-<date>.json
// The summary is recomputed from the rounds with the current code; the measurements are not touched.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { summarize, writeResults } from './lib/report.mjs';

const file = process.argv[2];
if (!file) throw new Error('usage: node bench/foundation/render.mjs <result.json>');
const result = JSON.parse(readFileSync(file, 'utf8'));
const { goal } = result.summary;
result.summary = summarize(result.rounds, { ratioMin: goal.ratioMin, p99MaxMs: goal.p99MaxMs, connections: goal.connections });
const benchDir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const out = writeResults(benchDir, result);
process.stdout.write(`${path.relative(process.cwd(), out.md)}\n${path.relative(process.cwd(), out.json)}\n`);
