import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpLogger } from 'pino-http';
import { HTTP_LOGGER } from './logging.module';

/** One log line per request, with the request id that the response header and audit rows carry too. */
@Injectable()
export class HttpLogMiddleware implements NestMiddleware {
  constructor(@Inject(HTTP_LOGGER) private readonly http: HttpLogger) {}

  use(req: IncomingMessage, res: ServerResponse, next: () => void): void {
    this.http(req, res);
    next();
  }
}
