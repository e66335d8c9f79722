import { join } from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { ENTITIES } from './entities';

/** The one place that says how Governor talks to PostgreSQL. `synchronize` is never on: migrations own the schema. */
export function dataSourceOptions(url: string): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: [join(__dirname, 'migrations', '*.js')],
    migrationsTableName: 'migrations',
    synchronize: false,
    uuidExtension: 'pgcrypto',
    migrationsRun: false,
    applicationName: 'governor',
    extra: { max: 10, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 30_000 },
  };
}

/** Key of the advisory lock that serialises migrations between replicas starting together. */
const MIGRATION_LOCK_KEY = 0x676f76; // "gov"

/**
 * Runs pending migrations while holding a session advisory lock, so that replicas starting together run
 * them once. The lock lives on one connection, the migrations run on others, and the lock is released
 * even when a migration fails.
 */
export async function migrate(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      const done = await dataSource.runMigrations({ transaction: 'each' });
      return done.map((m) => m.name);
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await runner.release();
  }
}
