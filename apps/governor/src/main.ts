import { mkdirSync } from 'node:fs';
import { createGovernorApp } from './app.factory';
import { ConfigError, type GovernorConfig, loadConfig } from './config/governor.config';
import { join } from 'node:path';
import pino from 'pino';
import { EmbeddedPostgres, LegacyPgliteError, waitForDatabase } from '../../../libs/persistence/src';
import { InstanceLockedError, lockInstance } from './instance/instance-lock';
import { serveWhileWaiting } from './instance/waiting-server';
import { NodesService } from './nodes/nodes.service';

const EX_CONFIG = 78;
/** EX_TEMPFAIL: another governor holds this one's data directory */
const EX_LOCKED = 75;

function configOrExit(): GovernorConfig {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`governor: ${err.message}\n`);
    process.exit(EX_CONFIG);
  }
}

async function main(): Promise<void> {
  const config = configOrExit();
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  // A refusal (InstanceLockedError) ends the start through main().catch, with the same exit code as the host locks.
  const lock = lockInstance(
    `the data directory ${config.dataDir}`,
    join(config.dataDir, 'governor.lock'),
    'Stop that governor first, or give this one another GOVERNOR_DATA_DIR.',
  );
  const log = pino({ level: config.logLevel, base: { context: 'startup' } });
  let embedded: EmbeddedPostgres | undefined;
  if (config.databaseUrl === undefined) {
    try {
      embedded = await EmbeddedPostgres.start({ dataDir: config.dataDir, log: (level, message) => log[level](message) });
    } catch (err) {
      if (!(err instanceof LegacyPgliteError)) throw err;
      process.stderr.write(`governor: ${err.message}\n`);
      process.exit(EX_CONFIG);
    }
  }
  const databaseUrl = config.databaseUrl ?? embedded!.url;
  let reason = 'connecting to the database';
  let placeholder: Promise<{ close(): Promise<void> } | undefined> | undefined;
  await waitForDatabase(databaseUrl, (err, attempt, delayMs) => {
    reason = `waiting for the database: ${err.message}`;
    if (attempt === 1 || attempt % 10 === 0) log.warn(`${reason}; retrying in ${delayMs} ms (attempt ${attempt}); the kernel keeps enforcing what was applied`);
    placeholder ??= serveWhileWaiting(config, () => reason).catch((listenErr: unknown) => {
      log.error(`cannot answer on ${config.host}:${config.port} while waiting: ${(listenErr as Error).message}`);
      return undefined;
    });
  });
  await (await placeholder)?.close();

  let app;
  try {
    app = await createGovernorApp(config, databaseUrl);
  } catch (err) {
    await embedded?.stop();
    throw err;
  }

  let stopping = false;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`governor: ${signal}: shutting down\n`);
    await app.close();
    // After Nest has closed its pool, so that the server shuts down with no query cut off.
    await embedded?.stop();
    lock.release();
    process.exit(0);
  };
  process.on('SIGTERM', (signal) => void stop(signal));
  process.on('SIGINT', (signal) => void stop(signal));

  await app.listen(config.port, config.host);
  // An agent registers where its agent API answers only now that it listens (port 0 picks one).
  if (config.role !== 'api' && config.agentToken !== undefined) await app.get(NodesService).advertise(await app.getUrl());
  const where = embedded ? `embedded PostgreSQL in ${embedded.dataDir} (socket ${embedded.socketDir})` : 'PostgreSQL at DATABASE_URL';
  process.stderr.write(`governor (${config.role}) listening on ${await app.getUrl()}; database: ${where}\n`);
}

main().catch((err: unknown) => {
  if (err instanceof InstanceLockedError) {
    process.stderr.write(`governor: ${err.message}\n`);
    process.exit(EX_LOCKED);
  }
  process.stderr.write(`governor: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
