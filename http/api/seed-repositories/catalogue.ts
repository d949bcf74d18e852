import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { SeedCatalogue } from './schemas.ts';

/**
 * The seed repository list is configuration, not data: the bundled default is `config/seed-repositories.json`, and an
 * operator overrides it without touching the checkout by putting a file of the same shape at
 * `$TAKOS_DATA_DIR/seed-repositories.json`. Read on every request (it is small and rarely asked for), so an edit
 * takes effect without a restart.
 */
export const DEFAULT_CATALOGUE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../config/seed-repositories.json');
export const OVERRIDE_NAME = 'seed-repositories.json';

export async function loadSeedCatalogue(dataDir: string): Promise<z.infer<typeof SeedCatalogue>> {
  const override = path.join(dataDir, OVERRIDE_NAME);
  const text = await readFile(override, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return readFile(DEFAULT_CATALOGUE, 'utf8');
    throw err;
  });
  // A broken file is the operator's mistake: fail loudly (500 with the cause in the log) rather than serve nothing.
  return SeedCatalogue.parse(JSON.parse(text));
}
