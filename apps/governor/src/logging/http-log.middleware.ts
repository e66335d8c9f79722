import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger as Pino } from 'pino';
import { assignRequestId } from '../common/request-id';
import { PINO } from './logging.module';

type Level = 'info' | 'warn' | 'error';

/**
 * One log line per request, with the request id that the response header and audit rows carry too. It
 * names the request (method, URL, client), the status and the time taken, and no header: pino-http, used
 * before, built a child logger per request from every header, which was a tenth of a GET's CPU under load,
 * and its authorization header had to be redacted from each line anyway.
 */
@Injectable()
export class HttpLogMiddleware implements NestMiddleware {
  constructor(@Inject(PINO) private readonly log: Pino) {}

  use(req: IncomingMessage & { id?: string }, res: ServerResponse, next: () => void): void {
    const started = performance.now();
    req.id = assignRequestId(req, res);
    const done = () => {
      res.off('finish', done);
      res.off('close', done);
      const aborted = !res.writableFinished;
      const level: Level = aborted ? 'warn' : res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info';
      if (!this.log.isLevelEnabled(level)) return;
      this.log[level](
        {
          req: { id: req.id, method: req.method, url: req.url, remoteAddress: req.socket.remoteAddress },
          res: { statusCode: res.statusCode },
          responseTime: Math.round(performance.now() - started),
        },
        aborted ? 'request aborted' : res.statusCode >= 500 ? 'request errored' : 'request completed',
      );
    };
    res.on('finish', done);
    res.on('close', done);
    next();
  }
}
