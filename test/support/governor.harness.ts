import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import request from 'supertest';
import { createGovernorApp } from '../../apps/governor/src/app.factory';
import { type GovernorConfig, loadConfig } from '../../apps/governor/src/config/governor.config';
import { checkResponses, recordResponses, type SeenResponse } from './openapi-responses';

/** The server the integration tier runs against; test/setup.sh makes sure it is up. */
export const ADMIN_DATABASE_URL = process.env.GOVERNOR_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const ROOT_TOKEN = 'test-root-token-0123456789abcdef';

export interface TestGovernor {
  app: INestApplication;
  http: ReturnType<typeof request>;
  databaseUrl: string;
  config: GovernorConfig;
  /** an Authorization header value for the root admin token */
  root: string;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** stops the service and starts it again on the same database and data dir */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** A scratch database on the real server, dropped again by dropDatabase. */
export async function createDatabase(): Promise<string> {
  const name = `governor_it_${randomBytes(6).toString('hex')}`;
  await withAdmin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Takes the database away from every client but the test's own, as an outage would, or gives it back. */
export async function setDatabaseReachable(url: string, reachable: boolean): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  await withAdmin(async (client) => {
    await client.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS ${reachable}`);
    if (!reachable) {
      await client.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name <> 'governor-test'`, [name]);
    }
  });
}

export async function dropDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

async function withAdmin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: ADMIN_DATABASE_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * The whole service on a fresh database with real migrations, served to supertest without a port. By
 * default it runs as role api (no host access); host tests pass GOVERNOR_ROLE=all and a cgroup root of
 * their own.
 */
export async function startGovernor(env: Record<string, string> = {}): Promise<TestGovernor> {
  const databaseUrl = await createDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), 'governor-it-'));
  const config = loadConfig({
    GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN,
    GOVERNOR_DATA_DIR: dataDir,
    GOVERNOR_LOG_LEVEL: 'silent',
    GOVERNOR_ROLE: 'api',
    // Tests scrape /metrics without a token unless they test the token (metrics.test.ts); the service's default is a token.
    GOVERNOR_METRICS_PUBLIC: env.GOVERNOR_METRICS_TOKEN === undefined ? 'true' : 'false',
    DATABASE_URL: databaseUrl,
    ...env,
  });
  const sql = new Client({ connectionString: databaseUrl, application_name: 'governor-test' });
  await sql.connect();
  const gov: TestGovernor = {
    app: await createGovernorApp(config, databaseUrl),
    http: undefined as unknown as TestGovernor['http'],
    databaseUrl,
    config,
    root: `Bearer ${ROOT_TOKEN}`,
    query: async <T>(text: string, params: unknown[] = []) => (await sql.query(text, params)).rows as T[],
    restart: async () => {
      await gov.app.close();
      gov.app = await createGovernorApp(config, databaseUrl);
      recordResponsesOf(gov.app);
      gov.http = request(gov.app.getHttpServer() as Server);
    },
    // Every JSON response the test saw must match the schema the served document declares for it.
    close: async () => {
      const doc = (await gov.http.get('/docs/openapi.json')).body as Parameters<typeof checkResponses>[0];
      await sql.end();
      await gov.app.close();
      await dropDatabase(databaseUrl);
      rmSync(dataDir, { recursive: true, force: true });
      const check = checkResponses(doc, seen);
      if (check.mismatches.length > 0) {
        throw new Error(
          `${check.mismatches.length} of ${check.validated} responses disagree with /docs/openapi.json:\n  ${check.mismatches.slice(0, 10).join('\n  ')}`,
        );
      }
    },
  };
  const seen: SeenResponse[] = [];
  const recordResponsesOf = (app: INestApplication) => recordResponses(app.getHttpServer() as Server, seen);
  recordResponsesOf(gov.app);
  gov.http = request(gov.app.getHttpServer() as Server);
  return gov;
}

export interface TestReplica {
  app: INestApplication;
  http: ReturnType<typeof request>;
  config: GovernorConfig;
  close(): Promise<void>;
}

/**
 * Another governor on the database of `gov` (a second API replica, or an in-process agent), with a data dir
 * of its own. Closing it leaves the database to `gov`.
 */
export async function startReplica(gov: TestGovernor, env: Record<string, string> = {}): Promise<TestReplica> {
  const dataDir = mkdtempSync(join(tmpdir(), 'governor-it-'));
  const config = loadConfig({
    GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN,
    GOVERNOR_DATA_DIR: dataDir,
    GOVERNOR_LOG_LEVEL: 'silent',
    GOVERNOR_ROLE: 'api',
    GOVERNOR_METRICS_PUBLIC: 'true',
    DATABASE_URL: gov.databaseUrl,
    ...env,
  });
  const app = await createGovernorApp(config, gov.databaseUrl);
  return {
    app,
    http: request(app.getHttpServer() as Server),
    config,
    close: async () => {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
