import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger as Pino } from 'pino';
import { assignRequestId } from '../common/request-id';
import { PINO } from './logging.module';

type Level = 'info' | 'warn' | 'error';

/**
 * The access log's line of one answered (or aborted) request: method, URL, client, status and time taken,
 * with the request id that the response header and audit rows carry too. HttpLogMiddleware writes it for the
 * requests Nest serves, the tenant read fast path for its own answers, so both logs read alike.
 */
export function logRequest(log: Pino, req: IncomingMessage & { id?: string }, res: ServerResponse, started: number, aborted: boolean): void {
  const level: Level = aborted ? 'warn' : res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info';
  if (!log.isLevelEnabled(level)) return;
  log[level](
    {
      req: { id: req.id, method: req.method, url: req.url, remoteAddress: req.socket.remoteAddress },
      res: { statusCode: res.statusCode },
      responseTime: Math.round(performance.now() - started),
    },
    aborted ? 'request aborted' : res.statusCode >= 500 ? 'request errored' : 'request completed',
  );
}

/**
 * One log line per request (see logRequest), and no header: pino-http, used before, built a child logger per
 * request from every header, which was a tenth of a GET's CPU under load, and its authorization header had
 * to be redacted from each line anyway.
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
      logRequest(this.log, req, res, started, !res.writableFinished);
    };
    res.on('finish', done);
    res.on('close', done);
    next();
  }
}
