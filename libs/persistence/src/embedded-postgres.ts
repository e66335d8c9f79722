import { mkdir, rm } from 'node:fs/promises';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { btree_gist } from '@electric-sql/pglite/contrib/btree_gist';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/** Unix socket paths are limited to 108 bytes (sun_path); leave room for the file name. */
const MAX_SOCKET_DIR = 90;

/**
 * PostgreSQL for a single host without a server: PGlite keeps its files under the data dir and a socket
 * server lets the ordinary `pg` driver, and so the same TypeORM code and migrations, talk to it.
 *
 * PGlite runs one query at a time. The socket server queues queries per connection, so a transaction on
 * one connection makes the others wait: isolation holds by serialisation, and transactions must be short.
 */
export class EmbeddedPostgres {
  private constructor(
    private readonly db: PGlite,
    private readonly server: PGLiteSocketServer,
    private readonly socketDir: string,
    private readonly ownsSocketDir: boolean,
    /** a connection URL for the pg driver */
    readonly url: string,
  ) {}

  static async start(dataDir: string): Promise<EmbeddedPostgres> {
    const pgdata = join(dataDir, 'pgdata');
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const db = await PGlite.create(pgdata, { extensions: { btree_gist } });

    const preferred = join(dataDir, 'run');
    const ownsSocketDir = preferred.length > MAX_SOCKET_DIR;
    const socketDir = ownsSocketDir ? mkdtempSync(join(tmpdir(), 'governor-pg-')) : preferred;
    await mkdir(socketDir, { recursive: true, mode: 0o700 });
    const socketPath = join(socketDir, '.s.PGSQL.5432');
    await rm(socketPath, { force: true }); // a stale socket from a crashed run would make listen() fail

    // The default of one connection refuses the pool's second connection outright.
    const server = new PGLiteSocketServer({ db, path: socketPath, maxConnections: 32 });
    await server.start();
    const url = `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(socketDir)}`;
    return new EmbeddedPostgres(db, server, socketDir, ownsSocketDir, url);
  }

  async stop(): Promise<void> {
    await this.server.stop();
    await this.db.close();
    if (this.ownsSocketDir) await rm(this.socketDir, { recursive: true, force: true });
  }
}
