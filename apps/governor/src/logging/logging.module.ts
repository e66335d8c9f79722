import { type DynamicModule, Module } from '@nestjs/common';
import pino, { type Logger as Pino } from 'pino';
import type { GovernorConfig } from '../config/governor.config';
import { PinoLogger } from './pino.logger';

export const PINO = Symbol('PINO');

/**
 * One pino instance for the whole service: Nest's logger writes through it (PinoLogger), and
 * HttpLogMiddleware writes one line per request with its id. Secrets never reach the log.
 */
@Module({})
export class LoggingModule {
  static forRoot(config: GovernorConfig): DynamicModule {
    const root: Pino = pino({ level: config.logLevel, redact: ['req.headers.authorization', 'req.headers.cookie'] });
    return {
      module: LoggingModule,
      global: true,
      providers: [
        { provide: PINO, useValue: root },
        { provide: PinoLogger, useValue: new PinoLogger(root) },
      ],
      exports: [PINO, PinoLogger],
    };
  }
}
