import { type DynamicModule, Module } from '@nestjs/common';
import pino, { type Logger as Pino } from 'pino';
import { pinoHttp, type HttpLogger } from 'pino-http';
import { assignRequestId } from '../common/request-id';
import type { GovernorConfig } from '../config/governor.config';
import { PinoLogger } from './pino.logger';

export const PINO = Symbol('PINO');
export const HTTP_LOGGER = Symbol('HTTP_LOGGER');

/**
 * One pino instance for the whole service: Nest's logger writes through it (PinoLogger), and pino-http
 * writes one line per request with its id. Secrets never reach the log.
 */
@Module({})
export class LoggingModule {
  static forRoot(config: GovernorConfig): DynamicModule {
    const root: Pino = pino({ level: config.logLevel, redact: ['req.headers.authorization', 'req.headers.cookie'] });
    const http: HttpLogger = pinoHttp({
      logger: root,
      genReqId: assignRequestId,
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
    });
    return {
      module: LoggingModule,
      global: true,
      providers: [
        { provide: PINO, useValue: root },
        { provide: HTTP_LOGGER, useValue: http },
        { provide: PinoLogger, useValue: new PinoLogger(root) },
      ],
      exports: [PINO, HTTP_LOGGER, PinoLogger],
    };
  }
}
