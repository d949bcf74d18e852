// Preloaded (`--expose-gc --import`) into a server whose idle memory per connection is measured. On SIGUSR2 it runs
// full garbage collections (three, 500 ms apart, so weak callbacks and finalizers of one are collected by the next
// and V8 has time to give freed pages back) and appends one JSON line of process.memoryUsage() to $BENCH_MEM_OUT;
// the bench reads VmRSS from /proc at the same moment. With $BENCH_HEAP_SNAPSHOTS set to a folder, it also writes a heap snapshot there.
import { appendFileSync } from 'node:fs';
import { writeHeapSnapshot } from 'node:v8';

const out = process.env.BENCH_MEM_OUT;
if (out && typeof globalThis.gc === 'function') {
  process.on('SIGUSR2', () => {
    globalThis.gc();
    setTimeout(() => globalThis.gc(), 500);
    setTimeout(() => {
      globalThis.gc();
      const m = process.memoryUsage();
      // $BENCH_HEAP_SNAPSHOTS (a folder): also write a heap snapshot each time, to see what a connection holds.
      if (process.env.BENCH_HEAP_SNAPSHOTS) writeHeapSnapshot(`${process.env.BENCH_HEAP_SNAPSHOTS}/heap-${process.pid}-${Date.now()}.heapsnapshot`);
      appendFileSync(out, JSON.stringify({ at: Date.now(), ...m }) + '\n');
    }, 1000);
  });
}
