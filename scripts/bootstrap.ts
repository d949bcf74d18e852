/** Run by `npm start` after migrating: ensures the server admin and prints its token (also kept in the data folder). */
import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../runtime/config.ts';
import { createDb } from '../runtime/db.ts';
import { migrate } from '../runtime/migrate.ts';
import { bootstrapAdmin } from '../runtime/identity/bootstrap.ts';

const config = loadConfig();
const sql = createDb({ url: config.DATABASE_URL, max: 2 });
try {
  await migrate(sql);
  const r = await bootstrapAdmin(sql, config.dataDir);
  await mkdir(config.dataDir, { recursive: true });
  await writeFile(path.join(config.dataDir, 'admin-token'), r.token + '\n', { mode: 0o600 });
  process.stdout.write(JSON.stringify(r) + '\n');
} finally {
  await sql.end();
}
