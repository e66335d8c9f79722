import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { DomainError } from '../../../../libs/domain/src/errors';
import { problem, PROBLEM_CONTENT_TYPE, type Problem } from './problem';
import { requestIdOf } from './request-id';

/**
 * Socket errors of the connection to PostgreSQL (ENOENT: the embedded database's unix socket is gone).
 * Only errors of a socket call count: an ENOENT from a cgroup file is not the database's.
 */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'ENOENT', 'EPIPE']);
const SOCKET_CALLS = new Set(['connect', 'getaddrinfo', 'read', 'write']);
/** SQLSTATEs that mean "PostgreSQL is not there right now", as opposed to a bad query. */
const UNAVAILABLE_CODES = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08006']);
/** SQLSTATE disk_full: PostgreSQL could not extend a file or write WAL; nothing of the statement was kept. */
const DISK_FULL = '53100';

/** The message of a disk_full error, wherever the driver wrapped it; undefined for any other error. */
export function diskFullMessage(err: unknown): string | undefined {
  if (err instanceof DomainError || typeof err !== 'object' || err === null) return undefined;
  const { code, message, driverError } = err as { code?: unknown; message?: unknown; driverError?: unknown };
  if (code === DISK_FULL) return typeof message === 'string' ? message : 'no space left on device';
  return driverError !== undefined && driverError !== err ? diskFullMessage(driverError) : undefined;
}

/** Refusals at connect time that carry a generic SQLSTATE (55000) or none, told apart by their text. */
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|is not currently accepting connections|the database system is (starting up|shutting down|in recovery mode)/;

export function isDatabaseUnavailable(err: unknown): boolean {
  if (err instanceof DomainError) return false;
  const { code, message, driverError, syscall } = err as { code?: unknown; message?: unknown; driverError?: unknown; syscall?: unknown };
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  if (typeof code === 'string' && SOCKET_CODES.has(code) && typeof syscall === 'string' && SOCKET_CALLS.has(syscall)) return true;
  if (typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message)) return true;
  return driverError !== undefined && driverError !== err && isDatabaseUnavailable(driverError);
}

/** The one place where errors become HTTP: every response that is not a success is problem+json. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(err: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const body = this.toProblem(err, req);
    body.requestId = requestIdOf(req);
    if (body.status >= 500) {
      this.logger.error({ err, requestId: body.requestId, method: req.method, url: req.originalUrl }, `request failed: ${body.detail}`);
    }
    if (res.headersSent) return;
    if (err instanceof DomainError) res.set(err.headers);
    res.status(body.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
  }

  private toProblem(err: unknown, req: Request): Problem {
    if (err instanceof DomainError) {
      return problem(err.status, err.code, err.message, err.errors);
    }
    if (err instanceof HttpException) {
      const status = err.getStatus();
      if (status === 404) return problem(404, 'route-not-found', `no route ${req.method} ${req.path}; see /docs for the API`);
      return problem(status, `http-${status}`, httpDetail(err));
    }
    const diskFull = diskFullMessage(err);
    if (diskFull !== undefined) {
      return problem(
        503,
        'database-disk-full',
        `the database's disk is full (PostgreSQL: ${diskFull}); the request was not carried out: free space where the database keeps its files, then retry`,
      );
    }
    if (isDatabaseUnavailable(err)) {
      return problem(503, 'database-unavailable', 'the database is unavailable; the request was not carried out, retry later');
    }
    return problem(500, 'internal', 'an unexpected error occurred; quote the requestId when reporting it');
  }
}

/** What Nest's own exceptions say: a string, or a validation pipe's list of strings. */
function httpDetail(err: HttpException): string {
  const response = err.getResponse();
  if (typeof response === 'string') return response;
  const { message } = response as { message?: unknown };
  if (typeof message === 'string') return message;
  if (Array.isArray(message)) return message.join(',');
  return err.message;
}
