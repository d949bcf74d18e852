/** Process entry: `migrate` (the Procfile's release step). Applies migrations/ in order, then exits. */
import { loadConfig } from './runtime/config.ts';
import { createDb } from './runtime/db.ts';
import { createLogger } from './runtime/log.ts';
import { migrate } from './runtime/migrate.ts';

const config = loadConfig();
const log = createLogger(config.LOG_LEVEL);
const sql = createDb({ url: config.DATABASE_URL, max: 1 });
try {
  const applied = await migrate(sql, { log: (m) => log.info(m) });
  log.info({ applied }, applied.length ? 'migrations applied' : 'database up to date');
} finally {
  await sql.end();
}
