import type { LoggerService } from '@nestjs/common';
import type { Logger as Pino } from 'pino';

type Level = 'info' | 'error' | 'warn' | 'debug' | 'trace' | 'fatal';

/**
 * Nest's logger calls, written as one pino JSON line each. Nest's `new Logger('ctx').log(x, ...)` arrives
 * here as (x, ...params, 'ctx'): the last parameter is the context. An object first is merged into the line
 * (an Error goes under `err`), the next string is the message, as pino itself takes them.
 */
export class PinoLogger implements LoggerService {
  constructor(private readonly pino: Pino) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    // Nest's own errors come as (message, stack, context): keep the stack with the line.
    if (typeof message === 'string' && params.length === 2 && typeof params[0] === 'string' && params[0].includes('\n')) {
      this.pino.error({ context: params[1], stack: params[0] }, message);
      return;
    }
    this.write('error', message, params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(level: Level, message: unknown, params: unknown[]): void {
    const fields: Record<string, unknown> = {};
    let rest = params;
    if (params.length > 0 && typeof params[params.length - 1] === 'string') {
      fields.context = params[params.length - 1];
      rest = params.slice(0, -1);
    }
    if (message instanceof Error) {
      fields.err = message;
      this.pino[level](fields, ...(rest as [string?]));
    } else if (typeof message === 'object' && message !== null) {
      Object.assign(fields, message);
      this.pino[level](fields, ...(rest as [string?]));
    } else {
      this.pino[level](fields, String(message), ...rest);
    }
  }
}
