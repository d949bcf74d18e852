import type { TestProject } from 'vitest/node';
import { createDb } from '../runtime/db.ts';
import { migrate } from '../runtime/migrate.ts';

/**
 * Runs once per `vitest run`: migrates a template database that every test file clones (CREATE DATABASE ...
 * TEMPLATE), so each file gets a fresh, fully migrated database in ~50 ms instead of re-running migrations.
 * DATABASE_URL and REDIS_URL come from scripts/test.mjs (its own throwaway Postgres and Redis) or from the caller.
 */
export default async function setup(project: TestProject) {
  const url = process.env.DATABASE_URL;
  if (!url || !process.env.REDIS_URL) throw new Error('DATABASE_URL and REDIS_URL must be set: run the suite with `npm test`');
  const template = `takos_tpl_${process.pid}`;
  const admin = createDb({ url, max: 1 });
  await admin.unsafe(`DROP DATABASE IF EXISTS "${template}"`);
  await admin.unsafe(`CREATE DATABASE "${template}"`);
  const tpl = createDb({ url, max: 1, database: template });
  await migrate(tpl);
  await tpl.end();
  await admin.end();
  project.provide('templateDb', template);
  return async () => {
    const a = createDb({ url, max: 1 });
    await a.unsafe(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`).catch(() => {});
    await a.end();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    templateDb: string;
  }
}
