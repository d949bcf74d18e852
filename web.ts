/**
 * Process entry: `web`. The uWebSockets.js front for every route, and a host of actor partitions; scale by running
 * more of these behind any TCP/HTTP load balancer (they share nothing but Postgres and Redis).
 */
import { loadConfig } from './runtime/config.ts';
import { createKernel } from './runtime/kernel.ts';
import { buildApp } from './http/app.ts';
import { onShutdown } from './runtime/shutdown.ts';
import { composeApp } from './compose.ts';

const config = loadConfig();
const kernel = await createKernel(config);
const app = await composeApp(kernel, { hosting: true });
const { server } = buildApp(app.deps);
const port = await server.listen(config.HOST, config.PORT);
kernel.log.info({ port, url: config.publicUrl }, 'web listening');

onShutdown(kernel.log, async () => {
  await server.close();
  await app.stop();
  await kernel.close();
});
