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
    // Asynchronous writes to stdout: a line written while the previous write is still in flight joins the next
    // write, so that under load the access log costs one write(2) per batch of requests rather than one per
    // request on the event loop. pino writes what is left synchronously when the process exits (also after an
    // uncaught exception); only a SIGKILL can lose the lines of the one write in flight.
    const root: Pino = pino(
      { level: config.logLevel, redact: ['req.headers.authorization', 'req.headers.cookie'] },
      pino.destination({ dest: 1, sync: false }),
    );
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
