import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import type { RequestListener, Server } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { PinoLogger } from './logging/pino.logger';
import { AppModule } from './app.module';
import type { GovernorConfig } from './config/governor.config';
import { quotaSchemas } from './tenants/dto/quota.schema';
import { PROBLEM_CONTENT_TYPE, PROBLEM_SCHEMA } from './common/problem';
import { TenantReadFastPath } from './tenants/tenant-read.fast-path';

/**
 * Builds the whole service, initialised but not listening: main.ts listens, and the integration tests
 * hand the app to supertest.
 */
export async function createGovernorApp(config: GovernorConfig, databaseUrl: string): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, databaseUrl), {
    bodyParser: false, // JsonBodyMiddleware parses, so that its errors are problem+json
    bufferLogs: true,
    ...(config.tls ? { httpsOptions: { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) } } : {}),
  });
  app.useLogger(app.get(PinoLogger));
  // Idle keep-alive connections stay open longer than the idle timeout of the proxies and load balancers put in
  // front (60 s is the usual one). With Node's 5 s default the server closes a connection just as a client
  // reusing it sends its next request, which that client sees as a reset with no answer ("socket hang up");
  // the fuzz suite met it on a loaded host. The header timeout must exceed the keep-alive one.
  const server: Server = app.getHttpServer();
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  app.disable('x-powered-by');
  app.set('etag', false); // ETags are resourceVersions, set by the handlers

  const openapi = new DocumentBuilder()
    .setTitle('Governor')
    .setDescription('Multi-tenant resource governor: tenants, their quotas, and what the kernel enforces. Errors are application/problem+json (RFC 9457).')
    .setVersion('1')
    .addBearerAuth()
    .build();
  const document = () => {
    const doc = SwaggerModule.createDocument(app, openapi);
    doc.components = { ...doc.components, schemas: { ...doc.components?.schemas, ...quotaSchemas(), Problem: PROBLEM_SCHEMA } };
    // Every error of every route is problem+json, from the one filter: say so once for all of them.
    for (const operations of Object.values(doc.paths)) {
      for (const operation of Object.values(operations as Record<string, { responses?: Record<string, unknown> }>)) {
        if (typeof operation !== 'object' || operation === null || operation.responses === undefined) continue;
        operation.responses.default ??= {
          description: 'an error: what was wrong and what is allowed',
          content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } },
        };
      }
    }
    return doc;
  };
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });

  await app.init();
  if (config.role !== 'agent') {
    // Ahead of express, which then serves whatever the fast path does not answer (see TenantReadFastPath).
    const listeners = server.listeners('request') as RequestListener[];
    if (listeners.length !== 1) throw new Error(`the HTTP server has ${listeners.length} request listeners; expected express alone`);
    server.removeListener('request', listeners[0]);
    server.on('request', app.get(TenantReadFastPath).before(listeners[0]));
  }
  return app;
}
