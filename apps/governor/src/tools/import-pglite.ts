/**
 * npm run db:import-pglite -- [<pgdata dir>]
 *
 * Moves the data of Governor's earlier embedded database (PGlite, in <data dir>/pgdata) into the embedded
 * PostgreSQL server that replaced it. PGlite reads the old directory (installed for this run only, the very
 * version that wrote it); the new server gets the schema those rows were written under (the same
 * migrations), then the rows, then the sequences; the governor's next start runs any newer migrations.
 * The old directory is kept, renamed to pgdata.pglite-imported.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { DataSource, type MigrationInterface } from 'typeorm';
import { dataSourceOptions, EmbeddedPostgres, legacyPgliteDir } from '../../../../libs/persistence/src';
import { InstanceLockedError, lockInstance } from '../instance/instance-lock';

/** The PGlite release the last PGlite-based Governor shipped: the one that wrote the files. */
const PGLITE = '@electric-sql/pglite@0.5.14';
/** Rows per INSERT: a JSON array of this many rows is one parameter. */
const BATCH = 500;

interface PGliteLike {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  close(): Promise<void>;
}

const say = (message: string): void => void process.stderr.write(`import-pglite: ${message}\n`);

function fail(message: string): never {
  say(message);
  process.exit(1);
}

async function openPglite(dir: string): Promise<{ db: PGliteLike; cleanup(): void }> {
  const prefix = mkdtempSync(join(tmpdir(), 'governor-pglite-'));
  say(`installing ${PGLITE} into ${prefix} to read the old data (this run only)`);
  execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', prefix, PGLITE], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const root = join(prefix, 'node_modules', '@electric-sql', 'pglite', 'dist');
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { PGlite } = require(join(root, 'index.cjs')) as { PGlite: { create(dir: string, options: unknown): Promise<PGliteLike> } };
  const { btree_gist } = require(join(root, 'contrib', 'btree_gist.cjs')) as { btree_gist: unknown };
  /* eslint-enable @typescript-eslint/no-require-imports */
  const db = await PGlite.create(dir, { extensions: { btree_gist } });
  return { db, cleanup: () => rmSync(prefix, { recursive: true, force: true }) };
}

/** The migration classes of this build, by name, as the service loads them. */
function migrationClasses(): Map<string, new () => MigrationInterface> {
  const dir = join(__dirname, '..', '..', '..', '..', 'libs', 'persistence', 'src', 'migrations');
  const classes = new Map<string, new () => MigrationInterface>();
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.js'))) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    for (const value of Object.values(require(join(dir, file)) as Record<string, unknown>)) {
      if (typeof value === 'function')
        classes.set((new (value as new () => MigrationInterface)() as { name?: string }).name ?? value.name, value as new () => MigrationInterface);
    }
  }
  return classes;
}

const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;

async function main(): Promise<void> {
  const dataDirEnv = process.env.GOVERNOR_DATA_DIR ?? 'var';
  const source = resolve(process.argv[2] ?? legacyPgliteDir(resolve(dataDirEnv)));
  if (!existsSync(join(source, 'PG_VERSION'))) fail(`${source} holds no PGlite data (no PG_VERSION): name the pgdata directory to import`);
  const dataDir = dirname(source);
  try {
    lockInstance(`the data directory ${dataDir}`, join(dataDir, 'governor.lock'), 'Stop that governor, then run the import again.');
  } catch (err) {
    if (err instanceof InstanceLockedError) fail(err.message);
    throw err;
  }

  const pglite = await openPglite(source);
  const old = pglite.db;
  const applied = (await old.query<{ name: string }>('SELECT name FROM migrations ORDER BY id')).rows.map((row) => row.name);
  const tables = (
    await old.query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migrations' ORDER BY tablename")
  ).rows.map((row) => row.name);
  say(`found ${tables.length} tables and ${applied.length} applied migrations in ${source}`);

  const server = await EmbeddedPostgres.start({
    dataDir,
    allowLegacyPglite: true,
    log: (level, message) => (level === 'info' ? undefined : say(message)),
  });
  let imported = false;
  try {
    const known = migrationClasses();
    const unknown = applied.filter((name) => !known.has(name));
    if (unknown.length > 0) fail(`the old data was written by a newer Governor (migrations ${unknown.join(', ')} are unknown to this one)`);
    const db = new DataSource({ ...dataSourceOptions(server.url), migrations: applied.map((name) => known.get(name)!) });
    await db.initialize();
    try {
      const existing = await db.query<{ n: number }[]>("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'");
      if (existing[0].n > 0)
        fail(`the embedded server in ${server.dataDir} already has a schema: nothing was imported. Move ${server.dataDir} away to import into a new one.`);
      imported = true;
      await db.runMigrations({ transaction: 'all' });
      await db.transaction(async (tx) => {
        // Rows go in as they were: no foreign-key order to follow, and the append-only triggers stay quiet.
        await tx.query('SET LOCAL session_replication_role = replica');
        for (const table of tables) {
          const columns = (
            await old.query<{ name: string }>(
              "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
              [table],
            )
          ).rows.map((row) => quote(row.name));
          const list = columns.join(', ');
          let copied = 0;
          for (let offset = 0; ; offset += BATCH) {
            const batch = await old.query<{ rows: unknown[] | null }>(
              `SELECT json_agg(t) AS rows FROM (SELECT * FROM ${quote(table)} ORDER BY 1 LIMIT ${BATCH} OFFSET ${offset}) t`,
            );
            const rows = batch.rows[0]?.rows ?? [];
            if (rows.length === 0) break;
            await tx.query(`INSERT INTO ${quote(table)} (${list}) SELECT ${list} FROM json_populate_recordset(null::${quote(table)}, $1)`, [
              JSON.stringify(rows),
            ]);
            copied += rows.length;
          }
          const [{ n }] = await tx.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM ${quote(table)}`);
          if (n !== copied) throw new Error(`${table}: ${copied} rows read but ${n} in the new database`);
          say(`${table}: ${copied} rows`);
        }
        const sequences = await old.query<{ name: string; value: string | null }>(
          "SELECT sequencename AS name, last_value::text AS value FROM pg_sequences WHERE schemaname = 'public'",
        );
        for (const sequence of sequences.rows) {
          if (sequence.value !== null) await tx.query('SELECT setval($1, $2::bigint, true)', [`public.${quote(sequence.name)}`, sequence.value]);
        }
      });
    } finally {
      await db.destroy();
    }
  } catch (err) {
    if (imported) await server.recreateDatabase(); // so that the import can simply be run again
    throw err;
  } finally {
    await server.stop();
    await old.close();
    pglite.cleanup();
  }
  const kept = `${source}.pglite-imported`;
  renameSync(source, kept);
  say(`done: the data is in the embedded PostgreSQL in ${join(dataDir, 'postgres')}; the old directory is kept as ${kept}. Start the governor with npm start.`);
}

main().catch((err: unknown) => fail(`failed, nothing was changed in the old directory: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`));
