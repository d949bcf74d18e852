/**
 * The bench-only server of bench/actors-http: the project's real HTTP front (`createHttpServer`: routing, admission,
 * PAT authentication, zod validation, error envelope, metrics) with ONE route that sends a command to an actor and
 * answers with its reply, on a bench actor kind (kind.ts). Not part of the product's route table.
 *
 *   POST /bench/actors/:key/add   (Authorization: Bearer <PAT>)  ->  200 {"n": <committed count>}
 *
 * The application dependencies come from the product's composition root (composeApp, not hosting: this process
 * serves no product actor), and the bench kind runs on an ActorSystem of its own that hosts every partition of it,
 * so each request takes the web process's local path: mailbox -> turn -> group commit -> reply.
 *
 * Env: as web.ts (DATABASE_URL, REDIS_URL, REDIS_PREFIX, PORT, ...). Prints `listening <port>` once it owns every
 * partition of the bench kind.
 */
import { z } from 'zod';
import { loadConfig } from '../../runtime/config.ts';
import { createKernel } from '../../runtime/kernel.ts';
import { ActorSystem } from '../../runtime/actors/index.ts';
import { DEFAULT_PARTITIONS } from '../../runtime/actors/index.ts';
import { createHttpServer } from '../../http/server.ts';
import { route } from '../../http/route.ts';
import { onShutdown } from '../../runtime/shutdown.ts';
import { composeApp } from '../../compose.ts';
import { BENCH_KIND, counterKind, createCounterTable } from './kind.ts';

const config = loadConfig();
const kernel = await createKernel(config);
await createCounterTable(kernel.sql);
const app = await composeApp(kernel, { hosting: false });
const actors = new ActorSystem(kernel, { hosting: true });
actors.register(counterKind);
await actors.start();
for (let i = 0; i < 100 && actors.stats(BENCH_KIND).owned.length < DEFAULT_PARTITIONS; i++) {
  await actors.rebalance(BENCH_KIND);
  await new Promise((r) => setTimeout(r, 100));
}

const routes = [
  route({
    method: 'POST',
    path: '/bench/actors/:key/add',
    family: 'bench',
    summary: 'Increment a bench counter actor and answer its committed value',
    response: z.object({ n: z.number() }),
    async handler(c) {
      return c.deps.actors.send(counterKind, c.params.key!, { type: 'add' });
    },
  }),
];
const server = createHttpServer({ ...app.deps, actors }, routes);
const port = await server.listen(config.HOST, config.PORT);
process.stdout.write(`listening ${port}\n`);

onShutdown(kernel.log, async () => {
  await server.close();
  await actors.stop();
  await app.stop();
  await kernel.close();
});
