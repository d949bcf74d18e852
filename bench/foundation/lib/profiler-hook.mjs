// Preloaded (`--import`) into a server under test, with --enable-source-maps. SIGUSR2 starts the V8 CPU profiler,
// the next SIGUSR2 stops it and writes $BENCH_PROFILE_OUT: the profile covers exactly the measured load window,
// not start-up and module compilation as `node --cpu-prof` would. tsx compiles every .ts file to one minified line,
// so the source maps of the project's own modules are written next to it ($BENCH_PROFILE_OUT.maps.json) for the
// summary to map frames back to file:line.
import { Session } from 'node:inspector';
import { findSourceMap } from 'node:module';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', '..');
const out = process.env.BENCH_PROFILE_OUT;

function tsFiles(dir) {
  let files = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) files = files.concat(tsFiles(p));
    else if (e.name.endsWith('.ts')) files.push(p);
  }
  return files;
}

if (out) {
  const session = new Session();
  session.connect();
  let running = false;
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true;
      session.post('Profiler.enable', () => session.post('Profiler.start'));
      return;
    }
    running = false;
    session.post('Profiler.stop', (err, res) => {
      if (err) throw err;
      const maps = {};
      for (const f of tsFiles(root)) {
        const sm = findSourceMap(pathToFileURL(f).href);
        if (sm) maps[pathToFileURL(f).href] = sm.payload;
      }
      writeFileSync(`${out}.maps.json`, JSON.stringify(maps));
      // Written last: its appearance tells the bench that both files are complete.
      writeFileSync(out, JSON.stringify(res.profile));
    });
  });
}
