/**
 * Process entry: `worker <kind...>`. BullMQ consumers for the long work; scale by running more per kind.
 * Kinds: runs (agent run execution), browser (Chromium pages of browser sessions, workers/browser/host.ts). `worker` with no kind runs every kind.
 */
import { loadConfig } from './runtime/config.ts';
import { createKernel } from './runtime/kernel.ts';
import { onShutdown } from './runtime/shutdown.ts';
import { composeApp } from './compose.ts';
import { startRunsWorker } from './workers/runs/worker.ts';
import { startBrowserKind } from './workers/browser/kind.ts';

const KINDS = ['runs', 'browser'] as const;
type Kind = (typeof KINDS)[number];

const asked = process.argv.slice(2);
const unknown = asked.filter((k) => !(KINDS as readonly string[]).includes(k));
if (unknown.length > 0) {
  process.stderr.write(`unknown worker kind(s): ${unknown.join(', ')}; known: ${KINDS.join(', ')}\n`);
  process.exit(2);
}
const kinds: Kind[] = asked.length > 0 ? (asked as Kind[]) : [...KINDS];

const config = loadConfig();
const kernel = await createKernel(config);
const app = await composeApp(kernel, { hosting: false });
const workers = await Promise.all(
  kinds.map(async (k) => {
    switch (k) {
      case 'runs':
        return startRunsWorker(app.deps);
      case 'browser':
        return startBrowserKind(app.deps);
    }
  }),
);
kernel.log.info({ kinds }, 'workers started');

onShutdown(kernel.log, async () => {
  await Promise.all(workers.map((w) => w.close()));
  await app.stop();
  await kernel.close();
});
