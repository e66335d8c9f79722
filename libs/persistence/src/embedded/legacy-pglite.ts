import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Where Governor's earlier embedded database, PGlite, kept its files. */
export function legacyPgliteDir(dataDir: string): string {
  return join(dataDir, 'pgdata');
}

export class LegacyPgliteError extends Error {
  constructor(readonly dir: string) {
    super(
      `${dir} holds the data of the embedded PGlite database of an earlier Governor version.\n` +
        'This version runs a real PostgreSQL server instead, and will not start empty beside your data.\n' +
        'Move the data over with one command (it exports with PGlite, imports into the new server, and keeps the old directory):\n\n' +
        `    npm run db:import-pglite -- ${dir}\n\n` +
        `Or, to start with an empty database, move ${dir} out of the way.`,
    );
    this.name = 'LegacyPgliteError';
  }
}

/** Stops a start that would otherwise come up empty while the tenants of an earlier version sit in pgdata/. */
export function refuseLegacyPglite(dataDir: string): void {
  const dir = legacyPgliteDir(dataDir);
  if (existsSync(join(dir, 'PG_VERSION'))) throw new LegacyPgliteError(dir);
}
