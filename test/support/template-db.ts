import type { Sql } from '../../runtime/db.ts';

/** A fresh database for one test file, cloned from the migrated template. */
export async function cloneTemplateDb(adminSql: Sql, dbName: string, template: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await adminSql.unsafe(`CREATE DATABASE "${dbName}" TEMPLATE "${template}"`);
      return;
    } catch (err) {
      // Two files cloning the template at the same instant: "source database is being accessed by other users".
      if (attempt > 50 || (err as { code?: string }).code !== '55006') throw err;
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
    }
  }
}
