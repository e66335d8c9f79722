import { createGovernorApp } from './app.factory';
import { ConfigError, type GovernorConfig, loadConfig } from './config/governor.config';
import { EmbeddedPostgres } from '../../../libs/persistence/src/embedded-postgres';

const EX_CONFIG = 78;

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
  const embedded = config.databaseUrl === undefined ? await EmbeddedPostgres.start(config.dataDir) : undefined;
  const app = await createGovernorApp(config, config.databaseUrl ?? embedded!.url);

  let stopping = false;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`governor: ${signal}: shutting down\n`);
    await app.close();
    // After Nest has closed its pool, so that PGlite shuts down with no query cut off.
    await embedded?.stop();
    process.exit(0);
  };
  process.on('SIGTERM', (signal) => void stop(signal));
  process.on('SIGINT', (signal) => void stop(signal));

  await app.listen(config.port, config.host);
  const where = embedded ? `embedded PGlite under ${config.dataDir}` : 'PostgreSQL at DATABASE_URL';
  process.stderr.write(`governor (${config.role}) listening on ${await app.getUrl()}; database: ${where}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`governor: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
